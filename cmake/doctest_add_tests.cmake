# Run by doctest_discover_tests() after each link of the test binary (CMakeLists.txt points the
# module at this script instead of its own doctestAddTests.cmake, which in doctest 2.4.9 splits
# case names at ';' and '[', and asks each case for its suite with an unescaped filter, so every
# name holding a comma loses its label and yields a broken set_tests_properties()).
#
# Writes CTEST_FILE: one add_test() per case, named TEST_PREFIX + case + TEST_SUFFIX, labelled
# with the case's doctest test suite, run with --test-case=<case> and TEST_EXTRA_ARGS, with
# TEST_PROPERTIES. TEST_SPEC holds doctest filter options for the listing (e.g. --source-file=).
# A case outside every test suite, or two cases with one name, stop the build.
cmake_minimum_required(VERSION 3.20)  # policies for script mode (-P)

# Lines of a doctest --list-* output, without its banner lines. ';', '[' and ']' would be taken
# apart by CMake's list handling, so they travel as @semicolon@, @open@ and @close@ (restored by
# restore_name()).
function(doctest_lines out)
  execute_process(COMMAND ${TEST_EXECUTOR} "${TEST_EXECUTABLE}" ${TEST_SPEC} ${ARGN}
                  OUTPUT_VARIABLE text RESULT_VARIABLE status
                  WORKING_DIRECTORY "${TEST_WORKING_DIR}")
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "${TEST_EXECUTABLE} ${ARGN}: exit status ${status}\n${text}")
  endif()
  string(REPLACE ";" "@semicolon@" text "${text}")
  string(REPLACE "[" "@open@" text "${text}")
  string(REPLACE "]" "@close@" text "${text}")
  string(REPLACE "\n" ";" text "${text}")
  set(lines "")
  foreach(line IN LISTS text)
    if(NOT line STREQUAL "" AND NOT line MATCHES "^=+$" AND NOT line MATCHES "^@open@doctest@close@ ")
      list(APPEND lines "${line}")
    endif()
  endforeach()
  set(${out} "${lines}" PARENT_SCOPE)
endfunction()

function(restore_name out encoded)
  string(REPLACE "@semicolon@" ";" name "${encoded}")
  string(REPLACE "@open@" "[" name "${name}")
  string(REPLACE "@close@" "]" name "${name}")
  set(${out} "${name}" PARENT_SCOPE)
endfunction()

# A doctest filter matching exactly this name: commas separate filters unless escaped.
function(exact_filter out name)
  string(REPLACE "," "\\," filter "${name}")
  set(${out} "${filter}" PARENT_SCOPE)
endfunction()

set(script "")
set(names "")
doctest_lines(all_cases --list-test-cases)
doctest_lines(suites --list-test-suites)
set(labelled "")
foreach(encoded_suite IN LISTS suites)
  restore_name(suite "${encoded_suite}")
  exact_filter(suite_filter "${suite}")
  doctest_lines(cases "--test-suite=${suite_filter}" --list-test-cases)
  foreach(encoded IN LISTS cases)
    if(encoded IN_LIST labelled)
      message(FATAL_ERROR "${TEST_EXECUTABLE}: two test cases are named '${encoded}'")
    endif()
    list(APPEND labelled "${encoded}")
    restore_name(case "${encoded}")
    exact_filter(case_filter "${case}")
    set(name "${TEST_PREFIX}${case}${TEST_SUFFIX}")
    string(APPEND script "add_test([==[${name}]==] ${TEST_EXECUTOR} [==[${TEST_EXECUTABLE}]==] "
                         "[==[--test-case=${case_filter}]==]")
    foreach(arg IN LISTS TEST_EXTRA_ARGS)
      string(APPEND script " [==[${arg}]==]")
    endforeach()
    string(APPEND script ")\nset_tests_properties([==[${name}]==] PROPERTIES WORKING_DIRECTORY "
                         "[==[${TEST_WORKING_DIR}]==] LABELS [==[${suite}]==]")
    foreach(word IN LISTS TEST_PROPERTIES)
      string(APPEND script " [==[${word}]==]")
    endforeach()
    string(APPEND script ")\n")
    string(APPEND names " [==[${name}]==]")
  endforeach()
endforeach()
foreach(encoded IN LISTS all_cases)
  if(NOT encoded IN_LIST labelled)
    restore_name(case "${encoded}")
    message(FATAL_ERROR "${TEST_EXECUTABLE}: the test case '${case}' is in no doctest test suite "
                        "(tests declare TEST_SUITE_BEGIN(\"unit\") or \"integration\")")
  endif()
endforeach()
string(APPEND script "set(${TEST_LIST}${names})\n")
file(WRITE "${CTEST_FILE}" "${script}")
