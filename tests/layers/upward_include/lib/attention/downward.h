// A fixture of the layer check: attention/ may include config/ and core/. Not compiled.
#pragma once
#include "config/option_reader.h"
#include "core/errors.h"
