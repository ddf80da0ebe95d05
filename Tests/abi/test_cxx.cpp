// The header compiles as C++ (extern "C" linkage, no C-only constructs) and links from C++.
#include "tokenstore.h"

#include <cstdio>
#include <cstring>
#include <string>

namespace {

struct Collected {
    std::string token;
    int calls = 0;
};

extern "C" int collect(void *ctx, const ts_token_view *view) {
    Collected *c = static_cast<Collected *>(ctx);
    c->token.assign(view->token, view->token_len);
    c->calls++;
    return 0;
}

int failures = 0;

void check(bool ok, const char *what) {
    if (!ok) {
        std::fprintf(stderr, "test_cxx: FAILED: %s\n", what);
        failures++;
    }
}

}  // namespace

int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s SCRATCH_DIR\n", argv[0]);
        return 2;
    }
    check(std::strcmp(ts_version(), TS_VERSION_STRING) == 0, "ts_version() == TS_VERSION_STRING");

    ts_options opts;
    ts_options_init(&opts);
    opts.durability = TS_DURABILITY_NONE;
    ts_store *store = nullptr;
    std::string path = std::string(argv[1]) + "/cxx";
    check(ts_open(&store, path.c_str(), &opts) == TS_OK && store != nullptr, "ts_open");
    if (store == nullptr) return 1;

    check(ts_register(store, "device", "app", "token-cxx", TS_PLATFORM_ANDROID, TS_AUTH_FOREGROUND, "kim",
                      100) == TS_OK,
          "ts_register");
    Collected collected;
    check(ts_get(store, "device", "app", collect, &collected) == TS_OK, "ts_get");
    check(collected.calls == 1 && collected.token == "token-cxx", "view contents");

    // A captureless lambda converts to the C callback type.
    int users = 0;
    ts_user_fn count_users = [](void *ctx, const char *, size_t) -> int {
        ++*static_cast<int *>(ctx);
        return 0;
    };
    check(ts_segment_users(store, TS_SEGMENT_SUBSCRIBED, nullptr, count_users, &users) == TS_OK && users == 1,
          "ts_segment_users with a lambda");
    check(ts_close(store) == TS_OK, "ts_close");

    if (failures) return 1;
    std::printf("test_cxx: all checks passed\n");
    return 0;
}
