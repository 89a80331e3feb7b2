"""xclip: X-CLIP (transformers' XCLIPModel) on a C++ engine, with transformers' API.

    from xclip import AutoProcessor, AutoModel     # instead of: from transformers import ...
    processor = AutoProcessor.from_pretrained("microsoft/xclip-base-patch32")
    model = AutoModel.from_pretrained("microsoft/xclip-base-patch32")

High level: xclip.classify(paths, labels), xclip.embed_videos(paths), xclip.embed_texts(texts).
"""

from ._xclip import (Error, FormatError, InvalidArgument, IoError, UnsupportedError, VideoInfo, VideoReader,
                     __version__, load_safetensors, resolve_model, sampling, save_safetensors)
from .configuration import XCLIPConfig, XCLIPTextConfig, XCLIPVisionConfig
from .modeling import AutoModel, XCLIPModel, XCLIPTextModel, XCLIPVisionModel
from .outputs import BaseModelOutputWithPooling, ModelOutput, XCLIPOutput
from .processing import (AutoProcessor, AutoTokenizer, BatchFeature, CLIPTokenizer, VideoMAEImageProcessor,
                         XCLIPProcessor)
from .workflow import Embeddings, Workflow, classify, embed_texts, embed_videos

__all__ = [
    "AutoModel", "AutoProcessor", "AutoTokenizer", "BaseModelOutputWithPooling", "BatchFeature", "CLIPTokenizer",
    "Embeddings", "Error", "FormatError", "InvalidArgument", "IoError", "ModelOutput", "UnsupportedError",
    "VideoInfo", "VideoMAEImageProcessor", "VideoReader", "Workflow", "XCLIPConfig", "XCLIPModel", "XCLIPOutput",
    "XCLIPProcessor", "XCLIPTextConfig", "XCLIPTextModel", "XCLIPVisionConfig", "XCLIPVisionModel", "__version__",
    "classify", "embed_texts", "embed_videos", "load_safetensors", "resolve_model", "sampling", "save_safetensors",
]
