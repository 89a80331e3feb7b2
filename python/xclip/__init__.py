"""xclip: X-CLIP (transformers' XCLIPModel) on a C++ engine, with transformers' API.

    from xclip import AutoProcessor, AutoModel     # instead of: from transformers import ...
    processor = AutoProcessor.from_pretrained("microsoft/xclip-base-patch32")
    model = AutoModel.from_pretrained("microsoft/xclip-base-patch32")

High level: xclip.classify(paths, labels), xclip.embed_videos(paths), xclip.embed_texts(texts).
Search: index = xclip.VideoIndex("videos.xclip", model=...); index.update(["videos/"]);
index.search("a dog catching a frisbee").
Live: for record in xclip.watch("udp://127.0.0.1:5000", labels=[...], model=...): ...
"""

from ._openmp import short_spin_while_loading

with short_spin_while_loading():  # before anything loads libgomp: see _openmp.py
    from ._xclip import (Error, FormatError, IndexedWindow, InvalidArgument, IoError, SearchHit, UnsupportedError,
                         VideoIndex, VideoInfo, VideoReader, WeightType, __version__, int8_products_exact,
                         load_safetensors, resolve_model, sampling, save_safetensors)
from .configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig
from .modeling import AutoModel, XCLIPModel, XCLIPTextModel, XCLIPVisionModel
from .outputs import BaseModelOutputWithPooling, ModelOutput, XCLIPOutput
from .processing import (AutoProcessor, AutoTokenizer, BatchFeature, CLIPTokenizer, VideoMAEImageProcessor,
                         XCLIPProcessor)
from .watching import watch
from .workflow import Embeddings, Workflow, classify, embed_texts, embed_videos

__all__ = [
    "AutoModel", "AutoProcessor", "AutoTokenizer", "BaseModelOutputWithPooling", "BatchFeature", "CLIPTokenizer",
    "Embeddings", "Error", "FormatError", "IndexedWindow", "InvalidArgument", "IoError", "ModelOutput", "SearchHit",
    "UnsupportedError", "VideoIndex", "VideoInfo", "VideoMAEImageProcessor", "VideoReader", "WeightType", "Workflow",
    "XCLIPConfig", "XCLIPModel", "XCLIPOutput", "XCLIPProcessor", "XCLIPTextConfig", "XCLIPTextModel",
    "XCLIPVisionConfig", "XCLIPVisionModel", "__version__", "classify", "embed_texts", "embed_videos",
    "int8_products_exact", "load_safetensors", "resolve_model", "sampling", "save_safetensors", "watch",
]
