// A fixture of the layer check (CMakeLists.txt, "layers: an upward include fails"): config/ is
// below attention/, so this include must be refused. Not compiled.
#pragma once
#include "attention/mixer.h"
#include "config/run_config.h"
#include "core/errors.h"
