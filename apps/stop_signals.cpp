// SIGINT/SIGTERM for `run`; see stop_signals.h.
#include "stop_signals.h"

#include <pthread.h>

#include <csignal>
#include <thread>

#include "train/trainer.h"

namespace xb::app {

namespace {

// The first signal sets the flag; a second one ends the process by the signal's default action.
void on_stop_signal(int sig) {
    if (!g_stop_requested.exchange(true)) return;
    std::signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    std::raise(sig);
}

sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void take_stop_signals() {
    struct sigaction sa = {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    std::thread([set] {
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) == 0) on_stop_signal(sig);
        }
    }).detach();
}

}  // namespace xb::app
