"""Ship only the modules that `onnx_predict` runs on; the rest of layerwise needs torch.

pyproject.toml maps the import package `layerwise_onnx` onto layerwise's source folder; this
keeps from each package the modules named here. tests/test_install.py builds the wheel,
installs it where torch is absent and predicts with it, so a module that ONNX prediction
starts to need and that is missing here fails that test.
"""

from setuptools import setup
from setuptools.command.build_py import build_py

# Per package: the modules kept (a set), or all but some (a dict with "except").
KEEP = {
    "layerwise_onnx": {"__init__", "errors"},
    "layerwise_onnx.bundle": {"__init__", "predictor"},
    "layerwise_onnx.tasks": {"except": set()},  # each kind decodes its outputs; judging imports scikit-learn late
    "layerwise_onnx.serving": {"__init__", "onnx_runtime"},
    "layerwise_onnx.data": {"except": {"augment", "streaming"}},  # these two need torch / train on files
}


def kept(package: str, module: str) -> bool:
    rule = KEEP[package]
    return module not in rule["except"] if isinstance(rule, dict) else module in rule


class OnnxModules(build_py):
    def find_package_modules(self, package, package_dir):
        return [entry for entry in super().find_package_modules(package, package_dir) if kept(package, entry[1])]


setup(cmdclass={"build_py": OnnxModules})
