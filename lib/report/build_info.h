// Version, git commit and build type of this binary. Defined in sources that CMake generates
// (build/generated/build_info.cpp at configure time; build/generated/git_commit.cpp at every
// build, rewritten only when the commit changed), so a new commit recompiles one small file
// instead of every file that would otherwise see a changed -D flag.
#pragma once

namespace xb {

extern const char* const kVersion;
extern const char* const kGitCommit;
extern const char* const kBuildType;

}  // namespace xb
