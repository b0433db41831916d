"""Model directories: the estimator, its model card, and a manifest checked before loading.

A model directory (format 3) holds the estimator as JSON data that names only
allow-listed classes (``model.json``), its decision trees as plain arrays (``trees.npz``),
the model card (``card.json``, ``MODEL_CARD.md``), the applicability-domain model
(``domain.json``), the training rows (``training_data.csv``) and a manifest with the
SHA-256 of every file (``manifest.json``); ``matgenome.modelfile.format`` describes each.

``load_model`` checks the manifest, every file's hash and the format version before it
reads the estimator, so a truncated, modified or foreign file is refused with a clear
message and never runs code. Directories of formats 1 and 2 (skops) still load;
``migrate_model`` rewrites them in format 3.

Modules: ``format`` (names, manifest, hashes), ``skeleton`` (estimator as JSON),
``trees`` (trees as arrays), ``legacy`` (skops, formats 1 and 2), ``model``
(``TrainedModel``), ``directory`` (save, load, migrate, info), ``card`` (Markdown card).
"""

from matgenome.errors import ModelFileError
from matgenome.modelfile.card import render_card
from matgenome.modelfile.directory import (
    default_model_path,
    load_model,
    migrate_model,
    model_info,
    save_model,
)
from matgenome.modelfile.format import (
    CARD_FILE,
    CARD_PAGE,
    DEFAULT_MODEL_NAME,
    DOMAIN_FILE,
    ESTIMATOR_FILE,
    FORMAT_VERSION,
    MANIFEST_FILE,
    READABLE_FORMATS,
    SKOPS_DOMAIN_FILE,
    SKOPS_ESTIMATOR_FILE,
    TRAINING_FILE,
    TREES_FILE,
    TRUSTED_PREFIXES,
    library_versions,
)
from matgenome.modelfile.legacy import import_skops_io
from matgenome.modelfile.model import TrainedModel
from matgenome.modelfile.trees import (
    TREE_MARK,
    put_trees_back,
    read_trees,
    trees_set_aside,
    write_trees,
)

__all__ = [
    "CARD_FILE", "CARD_PAGE", "DEFAULT_MODEL_NAME", "DOMAIN_FILE", "ESTIMATOR_FILE",
    "FORMAT_VERSION", "MANIFEST_FILE", "READABLE_FORMATS", "SKOPS_DOMAIN_FILE",
    "SKOPS_ESTIMATOR_FILE", "TRAINING_FILE", "TREES_FILE", "TREE_MARK", "TRUSTED_PREFIXES",
    "ModelFileError", "TrainedModel", "default_model_path", "import_skops_io",
    "library_versions", "load_model", "migrate_model", "model_info", "put_trees_back",
    "read_trees", "render_card", "save_model", "trees_set_aside", "write_trees",
]
