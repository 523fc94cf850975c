"""The models of the zoo benchmark (benchmarks/zoo.py): which ones, how each is made (never
with weights) and at which input size it is measured."""

from __future__ import annotations

# torchvision classification models that are not CNNs: reported apart from the CNN count
TRANSFORMER_PREFIXES = ("vit_", "swin_")
TRANSFORMERS_EXTRA = ("maxvit_t",)
SEGMENTATION = ("fcn_resnet50", "deeplabv3_resnet50", "deeplabv3_mobilenet_v3_large",
                "lraspp_mobilenet_v3_large")
# the default input size of a torchvision model where it is not 224 x 224
TORCHVISION_SIZES = {"inception_v3": 299}

# timm CNNs across its families (every name checked against timm.list_models() when the list
# is used; a name timm does not have is reported, not silently skipped)
TIMM_MODELS = (
    # ResNet and its variants (SE, ECA, SK, blur pooling, deep stems, ResNet-RS, TResNet)
    "resnet18", "resnet10t", "resnet26t", "resnet50d", "resnext50_32x4d", "wide_resnet50_2",
    "seresnet50", "seresnext26d_32x4d", "ecaresnet50d", "skresnet18", "resnetblur18", "resnetrs50",
    "tresnet_m",
    # Res2Net, ResNeSt
    "res2net50_26w_4s", "res2next50", "resnest14d",
    # RegNet (X, Y, Z)
    "regnetx_002", "regnety_004", "regnetz_b16",
    # EfficientNet / MobileNet / NAS families, with tf_ "same"-padding variants
    "efficientnet_b0", "tf_efficientnet_b0", "efficientnet_lite0", "efficientnet_es",
    "tf_efficientnetv2_b0", "tinynet_a", "mobilenetv1_100", "mobilenetv2_100",
    "mobilenetv3_large_100", "tf_mobilenetv3_large_100", "mobilenetv4_conv_small", "lcnet_050",
    "fbnetc_100", "spnasnet_100", "mnasnet_100", "semnasnet_100", "hardcorenas_a", "mixnet_s",
    "tf_mixnet_s", "rexnet_100",
    # GhostNet
    "ghostnet_100", "ghostnetv2_100",
    # DLA, DPN, DenseNet, VoVNet, SelecSLS, HGNet
    "dla34", "dla46_c", "dpn68", "densenet121", "ese_vovnet19b_dw", "selecsls42b", "hgnetv2_b0",
    # CSP and Darknet
    "cspresnet50", "cspdarknet53", "cs3darknet_s", "darknet53",
    # HRNet
    "hrnet_w18_small",
    # Inception and Xception
    "inception_v3", "inception_v4", "inception_resnet_v2", "xception41", "legacy_xception",
    # normalizer-free nets
    "nf_resnet26", "nf_regnet_b0", "eca_nfnet_l0", "dm_nfnet_f0",
    # ConvNeXt
    "convnext_atto", "convnextv2_atto",
    # re-parameterizable and plain nets
    "repvgg_a0", "mobileone_s0", "gernet_s", "vgg11",
)


def torchvision_names() -> list[tuple[str, str]]:
    """(group, name) for every torchvision model of the benchmark: "cnn" (classification),
    "segmentation" and "transformer" (reported apart)."""
    import torchvision

    rows = []
    for name in torchvision.models.list_models(module=torchvision.models):
        transformer = name.startswith(TRANSFORMER_PREFIXES) or name in TRANSFORMERS_EXTRA
        rows.append(("transformer" if transformer else "cnn", name))
    rows += [("segmentation", name) for name in SEGMENTATION]
    return rows


def timm_names() -> list[tuple[str, str]]:
    return [("cnn", name) for name in TIMM_MODELS]


def library(suite: str):
    """The suite's package, imported."""
    import importlib

    return importlib.import_module({"torchvision": "torchvision", "timm": "timm"}[suite])


def make(suite: str, name: str):
    """(model, per-sample input shape) for a model of the zoo, with random weights (nothing is
    downloaded: torchvision ``weights=None``, timm ``pretrained=False``)."""
    if suite == "torchvision":
        import torchvision

        if name in SEGMENTATION:
            model = torchvision.models.get_model(name, weights=None, weights_backbone=None)
        else:
            model = torchvision.models.get_model(name, weights=None)
        size = TORCHVISION_SIZES.get(name, 224)
        return model, (3, size, size)
    if suite == "timm":
        import timm

        if name not in timm.list_models():
            raise LookupError(f"timm {timm.__version__} has no model {name!r}")
        model = timm.create_model(name, pretrained=False)
        return model, tuple(model.pretrained_cfg.get("input_size", (3, 224, 224)))
    raise ValueError(f"unknown suite {suite!r}")
