// Version, git commit and build type of this binary. Defined in a source file that CMake
// generates at configure time (build/generated/build_info.cpp), so a new commit recompiles one
// file instead of every file that would otherwise see a changed -D flag.
#pragma once

namespace xb {

extern const char* const kVersion;
extern const char* const kGitCommit;
extern const char* const kBuildType;

}  // namespace xb
