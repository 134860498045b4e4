# Writes OUTPUT, a C++ source defining xb::kGitCommit, from `git rev-parse` in SOURCE_DIR
# ("unknown" outside a git checkout), with "-dirty" appended when tracked files differ from that
# commit (the binary was built from code the commit does not hold). Run at every build (the
# xb_git_commit target); the file is rewritten only when that text changed, so an unchanged
# commit recompiles nothing.
cmake_minimum_required(VERSION 3.20)  # policies for script mode (-P)
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
                OUTPUT_VARIABLE commit OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET
                RESULT_VARIABLE status)
if(NOT status EQUAL 0 OR NOT commit)
  set(commit "unknown")
else()
  execute_process(COMMAND git status --porcelain --untracked-files=no
                  WORKING_DIRECTORY ${SOURCE_DIR} OUTPUT_VARIABLE changes ERROR_QUIET)
  if(changes)
    set(commit "${commit}-dirty")
  endif()
endif()
file(CONFIGURE OUTPUT ${OUTPUT} CONTENT
"// Generated at build time by cmake/git_commit.cmake.\n#include \"report/build_info.h\"\n\
namespace xb {\n\
const char* const kGitCommit = \"@commit@\";\n\
}  // namespace xb\n" @ONLY)
