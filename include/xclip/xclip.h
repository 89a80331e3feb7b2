// Umbrella header of the xclip library.
#pragma once

#include "xclip/config.h"
#include "xclip/convert.h"
#include "xclip/error.h"
#include "xclip/hub.h"
#include "xclip/features.h"
#if XCLIP_WITH_INDEX
#include "xclip/index.h"
#endif
#include "xclip/model.h"
#include "xclip/options.h"
#include "xclip/outputs.h"
#include "xclip/pipeline.h"
#include "xclip/processor.h"
#include "xclip/safetensors.h"
#include "xclip/tensor.h"
#include "xclip/tokenizer.h"
#include "xclip/version.h"
#include "xclip/video.h"
#include "xclip/watch.h"
