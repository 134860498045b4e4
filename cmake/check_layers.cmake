# Fails when a folder of lib/ or tasks/ includes a header of a folder it may not use: the layers
# of docs/design.md ("Layers") go one way. Scans every `#include "folder/..."` line under
# SOURCE_DIR/lib and SOURCE_DIR/tasks (tasks/formats/ belongs to tasks) and prints one line per
# forbidden include. Run by CTest ("layers: includes go one way"):
#   cmake -D SOURCE_DIR=. -P cmake/check_layers.cmake
cmake_minimum_required(VERSION 3.20)  # policies for script mode (-P)

# What each folder may include besides itself, lowest first. A new folder needs a line here.
set(layer_core "")
set(layer_config core)
set(layer_autograd core)
set(layer_ops core autograd)
set(layer_tasks core config)
set(layer_optim core config autograd)
set(layer_attention core config autograd ops)
set(layer_model core config autograd ops attention)
set(layer_setup core config autograd ops attention tasks model)
set(layer_train core config autograd ops attention tasks model optim setup)
set(layer_report core config autograd ops attention tasks model optim setup train)
set(layer_sweep core config autograd ops attention tasks model optim setup train report)

get_filename_component(SOURCE_DIR "${SOURCE_DIR}" ABSOLUTE)
file(GLOB_RECURSE sources RELATIVE ${SOURCE_DIR} ${SOURCE_DIR}/lib/*.h ${SOURCE_DIR}/lib/*.cpp
     ${SOURCE_DIR}/tasks/*.h ${SOURCE_DIR}/tasks/*.cpp)
list(SORT sources)
if(NOT sources)
  message(FATAL_ERROR "layers: no sources under ${SOURCE_DIR}/lib or ${SOURCE_DIR}/tasks")
endif()
set(problems "")
foreach(source ${sources})
  if(source MATCHES "^lib/([^/]+)/")
    set(folder ${CMAKE_MATCH_1})
  else()
    set(folder tasks)
  endif()
  if(NOT DEFINED layer_${folder})
    string(APPEND problems "${source}: folder '${folder}' has no line in the layer table of "
                           "cmake/check_layers.cmake\n")
    continue()
  endif()
  file(READ ${SOURCE_DIR}/${source} text)
  string(REGEX MATCHALL "#[ \t]*include[ \t]*\"[a-z_0-9]+/[^\"]*\"" includes "${text}")
  foreach(line ${includes})
    string(REGEX REPLACE ".*\"([a-z_0-9]+)/.*" "\\1" target "${line}")
    if(target STREQUAL folder)
      continue()
    endif()
    if(NOT DEFINED layer_${target})
      string(APPEND problems "${source}: ${line}: folder '${target}' has no line in the layer "
                             "table of cmake/check_layers.cmake\n")
    elseif(NOT target IN_LIST layer_${folder})
      string(REPLACE ";" ", " may "${layer_${folder}}")
      string(APPEND problems "${source}: ${line}: ${folder} may not include ${target} "
                             "(${folder} may include: ${may})\n")
    endif()
  endforeach()
endforeach()
if(problems)
  message("${problems}")  # unwrapped, one line each
  message(FATAL_ERROR "layers: includes against the layers of docs/design.md (above)")
endif()
list(LENGTH sources count)
message(STATUS "layers: ${count} files of lib/ and tasks/ include only the folders below them")
