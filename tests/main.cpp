// The single doctest binary; tests live beside it in folders that mirror lib/ and tasks/.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
