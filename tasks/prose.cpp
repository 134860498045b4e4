// Readable filler prose; see prose.h.
#include "tasks/prose.h"

#include <algorithm>
#include <cctype>

namespace xb {

namespace {

// Neutral fragments: no sentiment, no names and no letter 'z' or 'k' (the text task's cue words
// carry exactly one of those), so only the specials carry the label.
const std::vector<std::string> kFiller = {
    "the story follows a family",
    "in a small town",
    "during the second act",
    "the camera stays close",
    "a long scene at night",
    "with an older brother",
    "the music comes and goes",
    "after the first hour",
    "the dialogue is plain",
    "a train leaves the station",
    "the main character waits",
    "near the end of the year",
    "the editor cuts often",
    "a letter arrives",
    "the city sleeps",
    "some scenes were shot on location",
    "the cast includes newcomers",
    "on a cold morning",
    "the plot turns twice",
    "a friend returns home",
    "the narrator explains little",
    "the running time is long",
    "between two houses",
    "the colours are muted",
    "a crowd gathers outside",
    "the script was rewritten",
    "over several summers",
    "the director lets it breathe",
    "a child watches the road",
    "the ending is quiet",
    "most of it happens indoors",
    "the subtitles are simple",
    "at the harbour office",
    "the sequel was announced",
    "a dog follows them",
    "the lights go out",
};

std::string join_sentence(const std::vector<const std::string*>& units) {
    std::string s;
    for (size_t i = 0; i < units.size(); ++i) {
        if (i) s += i + 1 == units.size() && units.size() > 2 ? ", and " : " ";
        s += *units[i];
    }
    if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
    return s + ".";
}

// Units (filler or special) grouped into sentences of 1-3 units; rendered with spaces.
std::string render(const std::vector<const std::string*>& units,
                   const std::vector<int>& sentence_sizes) {
    std::string out;
    size_t at = 0;
    for (int n : sentence_sizes) {
        if (at >= units.size()) break;
        size_t end = std::min(units.size(), at + size_t(n));
        if (!out.empty()) out += ' ';
        out += join_sentence(
            {units.begin() + std::ptrdiff_t(at), units.begin() + std::ptrdiff_t(end)});
        at = end;
    }
    return out;
}

}  // namespace

int prose_min_bytes(const std::vector<std::string>& specials) {
    int n = 0;
    for (const auto& s : specials) n += int(s.size()) + 2;  // ". " or ", and " budget
    return n + 6 * int(specials.size() > 0);
}

std::string render_prose(Rng& rng, const std::vector<std::string>& specials, int target_bytes,
                         int max_bytes) {
    target_bytes = std::min(target_bytes, max_bytes);
    // Filler until the plain byte count reaches the target (separators make up the rest).
    int64_t bytes = 0;
    for (const auto& s : specials) bytes += int64_t(s.size()) + 1;
    std::vector<const std::string*> filler;
    while (bytes < target_bytes) {
        filler.push_back(&pick(rng, kFiller));
        bytes += int64_t(filler.back()->size()) + 2;
    }
    // A uniformly random interleaving keeping both orders: choose which slots hold specials.
    const size_t total = filler.size() + specials.size();
    std::vector<char> is_special(total, 0);
    std::fill(is_special.begin(), is_special.begin() + std::ptrdiff_t(specials.size()), 1);
    for (size_t i = total; i > 1; --i)
        std::swap(is_special[i - 1], is_special[size_t(rng.uniform_int(0, int64_t(i) - 1))]);
    std::vector<int> sentence_sizes;
    for (size_t n = 0; n < total + 3; n += size_t(sentence_sizes.back()))
        sentence_sizes.push_back(int(rng.uniform_int(1, 3)));

    std::vector<const std::string*> units;
    size_t f = 0, s = 0;
    for (size_t i = 0; i < total; ++i)
        units.push_back(is_special[i] ? &specials[s++] : filler[f++]);
    std::string text = render(units, sentence_sizes);
    // Too long: drop the last filler unit until it fits; specials are never dropped.
    while (int64_t(text.size()) > max_bytes) {
        auto it = std::find_if(units.rbegin(), units.rend(), [&](const std::string* u) {
            return std::find_if(specials.begin(), specials.end(),
                                [&](const std::string& sp) { return &sp == u; }) == specials.end();
        });
        if (it == units.rend()) break;
        units.erase(std::next(it).base());
        text = render(units, sentence_sizes);
    }
    return text;
}

}  // namespace xb
