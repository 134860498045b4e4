// Checkpoint file format; see checkpoint.h and the README ("Checkpoints").
// Layout: a 24-byte header (magic "XBCKPT\0\0", u32 version, u32 CRC-32 of the payload, u64
// payload length), then the payload: little-endian integers and IEEE doubles, strings as u64
// length + bytes, tensors as u32 ndim + i64 dims + float32 data.
#include "train/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <set>

#include "config/run_config.h"
#include "core/errors.h"
#include "core/file_io.h"

namespace xb {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the checkpoint format is little-endian");

namespace {

constexpr char kMagic[8] = {'X', 'B', 'C', 'K', 'P', 'T', '\0', '\0'};
constexpr size_t kHeaderBytes = 24;

uint32_t crc32_of(std::string_view bytes) {
    uLong crc = crc32(0L, Z_NULL, 0);
    for (size_t at = 0; at < bytes.size();) {  // zlib takes uInt lengths
        const size_t n = std::min<size_t>(bytes.size() - at, 1u << 30);
        crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + at), uInt(n));
        at += n;
    }
    return uint32_t(crc);
}

class Writer {
  public:
    template <class T>
    void put(T v) {
        out.append(reinterpret_cast<const char*>(&v), sizeof(T));
    }
    void put_string(std::string_view s) {
        put<uint64_t>(s.size());
        out.append(s);
    }
    void put_optional(const std::optional<double>& v) {
        put<uint8_t>(v ? 1 : 0);
        put<double>(v.value_or(0.0));
    }
    void put_tensors(const std::vector<Tensor>& ts) {
        put<uint64_t>(ts.size());
        for (const Tensor& t : ts) {
            put<uint32_t>(uint32_t(t.ndim()));
            for (int d = 0; d < t.ndim(); ++d) put<int64_t>(t.dim(d));
            out.append(reinterpret_cast<const char*>(t.data()), t.bytes());
        }
    }
    std::string out;
};

class Reader {
  public:
    Reader(std::string_view bytes, const std::string& path) : in_(bytes), path_(path) {}
    template <class T>
    T get() {
        T v;
        std::memcpy(&v, take(sizeof(T)), sizeof(T));
        return v;
    }
    std::string get_string() {
        const uint64_t n = get<uint64_t>();
        return std::string(take(n), n);
    }
    std::optional<double> get_optional() {
        const bool has = get<uint8_t>() != 0;
        const double v = get<double>();
        return has ? std::optional<double>(v) : std::nullopt;
    }
    std::vector<Tensor> get_tensors() {
        const uint64_t n = get<uint64_t>();
        if (n > in_.size()) bad("tensor count out of range");
        std::vector<Tensor> ts;
        for (uint64_t i = 0; i < n; ++i) {
            const uint32_t ndim = get<uint32_t>();
            if (ndim > uint32_t(Shape::kMaxDims)) bad("tensor rank out of range");
            Shape shape;
            shape.ndim = int(ndim);
            uint64_t numel = 1;
            for (uint32_t d = 0; d < ndim; ++d) {
                const int64_t dim = get<int64_t>();
                if (dim < 0 || uint64_t(dim) > in_.size()) bad("tensor dimension out of range");
                shape.dims[d] = dim;
                numel *= uint64_t(dim);
                if (numel > in_.size()) bad("tensor size out of range");
            }
            Tensor t = Tensor::empty(shape);
            std::memcpy(t.data(), take(numel * sizeof(float)), numel * sizeof(float));
            ts.push_back(std::move(t));
        }
        return ts;
    }
    void expect_end() {
        if (at_ != in_.size()) bad("unexpected bytes after the data");
    }

  private:
    const char* take(uint64_t n) {
        if (n > in_.size() - at_) bad("payload ends early");
        const char* p = in_.data() + at_;
        at_ += n;
        return p;
    }
    [[noreturn]] void bad(const std::string& what) {
        throw DataError(fmt::format("{}: corrupt checkpoint ({})", path_, what));
    }
    std::string_view in_;
    const std::string& path_;
    size_t at_ = 0;
};

void put_progress(Writer& w, const TrainProgress& p) {
    w.put_string(p.status);
    for (int64_t v : {p.step, p.epoch, p.cursor, p.loss_count}) w.put<int64_t>(v);
    for (double v : {p.loss_sum, p.last_val, p.elapsed_s}) w.put<double>(v);
    const RunResult& r = p.result;
    w.put_optional(r.best_val_accuracy);
    w.put_optional(r.final_train_loss);
    w.put_optional(r.communication_s);
    w.put<int64_t>(r.best_val_step);
    w.put<uint64_t>(r.history.size());
    for (const EvalPoint& h : r.history) {
        w.put<int64_t>(h.step);
        for (double v : {h.train_loss, h.val_accuracy, h.elapsed_s}) w.put<double>(v);
    }
    for (double v : {r.eval_s, r.forward_s, r.backward_s, r.optimizer_s, r.checkpoint_s})
        w.put<double>(v);
    for (int64_t v : {r.train_tokens, r.eval_tokens}) w.put<int64_t>(v);
    for (size_t v : {r.peak_tensor_bytes, r.peak_rss_bytes}) w.put<uint64_t>(v);
}

TrainProgress get_progress(Reader& in) {
    TrainProgress p;
    p.status = in.get_string();
    for (int64_t* v : {&p.step, &p.epoch, &p.cursor, &p.loss_count}) *v = in.get<int64_t>();
    for (double* v : {&p.loss_sum, &p.last_val, &p.elapsed_s}) *v = in.get<double>();
    RunResult& r = p.result;
    r.best_val_accuracy = in.get_optional();
    r.final_train_loss = in.get_optional();
    r.communication_s = in.get_optional();
    r.best_val_step = in.get<int64_t>();
    const uint64_t n = in.get<uint64_t>();
    for (uint64_t i = 0; i < n; ++i) {
        EvalPoint h{};
        h.step = in.get<int64_t>();
        for (double* v : {&h.train_loss, &h.val_accuracy, &h.elapsed_s}) *v = in.get<double>();
        r.history.push_back(h);
    }
    for (double* v : {&r.eval_s, &r.forward_s, &r.backward_s, &r.optimizer_s, &r.checkpoint_s})
        *v = in.get<double>();
    for (int64_t* v : {&r.train_tokens, &r.eval_tokens}) *v = in.get<int64_t>();
    for (size_t* v : {&r.peak_tensor_bytes, &r.peak_rss_bytes}) *v = size_t(in.get<uint64_t>());
    return p;
}

void diff_keys(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix,
               std::vector<std::string>& out) {
    if (!a.is_object() || !b.is_object()) {
        if (a != b) out.push_back(prefix);
        return;
    }
    std::set<std::string> keys;
    for (const auto& [k, v] : a.items()) keys.insert(k);
    for (const auto& [k, v] : b.items()) keys.insert(k);
    for (const std::string& k : keys) {
        const std::string path = prefix.empty() ? k : prefix + "." + k;
        if (!a.contains(k) || !b.contains(k))
            out.push_back(path);
        else
            diff_keys(a[k], b[k], path, out);
    }
}

}  // namespace

std::string checkpoint_path_for(const std::string& report_path) { return report_path + ".ckpt"; }

std::string encode_checkpoint(const Checkpoint& c) {
    Writer w;
    w.put_string(c.config.dump());
    put_progress(w, c.progress);
    w.put<uint64_t>(c.names.size());
    for (const std::string& n : c.names) w.put_string(n);
    for (const auto* ts : {&c.params, &c.adam_m, &c.adam_v, &c.best}) w.put_tensors(*ts);
    std::string file(kMagic, sizeof(kMagic));
    Writer header;
    header.put<uint32_t>(kCheckpointVersion);
    header.put<uint32_t>(crc32_of(w.out));
    header.put<uint64_t>(w.out.size());
    return file + header.out + w.out;
}

Checkpoint decode_checkpoint(std::string_view bytes, const std::string& path) {
    if (bytes.size() < kHeaderBytes || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0)
        throw DataError(
            fmt::format("{}: not an xformer-bench checkpoint (no XBCKPT header)", path));
    Reader header(bytes.substr(sizeof(kMagic), kHeaderBytes - sizeof(kMagic)), path);
    const uint32_t version = header.get<uint32_t>(), crc = header.get<uint32_t>();
    const uint64_t length = header.get<uint64_t>();
    if (version != kCheckpointVersion)
        throw DataError(
            fmt::format("{}: checkpoint format version {}; this build reads version {} only", path,
                        version, kCheckpointVersion));
    const std::string_view payload = bytes.substr(kHeaderBytes);
    if (payload.size() != length)
        throw DataError(fmt::format("{}: truncated checkpoint ({} payload bytes, header says {})",
                                    path, payload.size(), length));
    if (crc32_of(payload) != crc)
        throw DataError(fmt::format("{}: corrupt checkpoint (CRC-32 mismatch)", path));
    Reader in(payload, path);
    Checkpoint c;
    c.source = path;
    c.config = parse_json_located(in.get_string(), path + " (config)");  // depth-limited
    c.progress = get_progress(in);
    const uint64_t n = in.get<uint64_t>();
    if (n > payload.size())
        throw DataError(fmt::format("{}: corrupt checkpoint (name count out of range)", path));
    for (uint64_t i = 0; i < n; ++i) c.names.push_back(in.get_string());
    for (auto* ts : {&c.params, &c.adam_m, &c.adam_v, &c.best}) *ts = in.get_tensors();
    in.expect_end();
    return c;
}

void write_checkpoint(const std::string& path, const Checkpoint& c) {
    write_file_atomic(path, encode_checkpoint(c));
}

Checkpoint read_checkpoint(const std::string& path) {
    return decode_checkpoint(read_file_bytes(path), path);
}

std::vector<std::string> differing_config_keys(const nlohmann::json& a, const nlohmann::json& b) {
    std::vector<std::string> keys;
    diff_keys(a, b, "", keys);
    keys.erase(std::remove(keys.begin(), keys.end(), "train.checkpoint_every"), keys.end());
    return keys;
}

void check_matches_model(const Checkpoint& c, const ParameterStore& params) {
    const auto& all = params.all();
    auto mismatch = [&](const std::string& what) {
        return DataError(
            fmt::format("{}: the checkpoint does not fit this model ({})", c.source, what));
    };
    if (c.names.size() != all.size() || c.params.size() != all.size())
        throw mismatch(fmt::format("{} parameters, the model has {}", c.names.size(), all.size()));
    for (size_t i = 0; i < all.size(); ++i) {
        const Shape& shape = all[i].var->value.shape();
        if (c.names[i] != all[i].var->name || c.params[i].shape() != shape)
            throw mismatch(fmt::format("parameter {} {} where the model has {} {}", i, c.names[i],
                                       all[i].var->name, shape.str()));
    }
    for (const auto* ts : {&c.adam_m, &c.adam_v, &c.best}) {
        if (ts->empty() && ts == &c.best) continue;
        if (ts->size() != all.size()) throw mismatch("optimizer or best-weight tensor count");
        for (size_t i = 0; i < all.size(); ++i)
            if ((*ts)[i].shape() != all[i].var->value.shape())
                throw mismatch(fmt::format("a saved tensor of {} has another shape", c.names[i]));
    }
}

}  // namespace xb
