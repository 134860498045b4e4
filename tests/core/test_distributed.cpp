// The process group outside mpirun (a group of one) and the fixed rank shares of a batch.
#include <doctest/doctest.h>

#include "core/distributed.h"

TEST_SUITE_BEGIN("unit");

using namespace xb;

TEST_CASE("distributed: rank shares tile 0..n in order, sizes within one") {
    for (int size : {1, 2, 3, 5})
        for (int64_t n : {int64_t(5), int64_t(16), int64_t(33)}) {
            CAPTURE(size);
            CAPTURE(n);
            int64_t next = 0;
            for (int rank = 0; rank < size; ++rank) {
                auto [begin, end] = rank_share(n, rank, size);
                CHECK(begin == next);
                CHECK(end - begin >= n / size);
                CHECK(end - begin <= n / size + 1);
                next = end;
            }
            CHECK(next == n);
        }
}

TEST_CASE("distributed: outside mpirun the group is this process alone") {
    CHECK(world_size() == 1);
    CHECK(world_rank() == 0);
    CHECK(world_hosts().size() <= 1);
}

TEST_SUITE_END();
