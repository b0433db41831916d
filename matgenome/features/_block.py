"""The unit every preset is built from: a named set of columns and a vectorised function."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

# Compositions per call of a block function: bounds the (rows, elements, properties)
# intermediates to a few tens of MB whatever the batch size.
CHUNK_ROWS = 32768


@dataclass(frozen=True)
class FeatureBlock:
    """Columns computed together from a block of compositions with ``k`` elements each.

    ``compute(z, amounts)`` receives integer atomic numbers and float amounts, both of
    shape (m, k), and returns a float64 array of shape (m, len(labels)).
    """

    name: str
    labels: tuple[str, ...]
    compute: Callable[[np.ndarray, np.ndarray], np.ndarray]
    description: str
    citations: tuple[str, ...] = ()
    implementors: tuple[str, ...] = ()
    column_descriptions: Mapping[str, str] = field(default_factory=dict)


WARD_2016 = (
    "@article{ward_agrawal_choudary_wolverton_2016, title={A general-purpose machine "
    "learning framework for predicting properties of inorganic materials}, volume={2}, "
    "DOI={10.1038/npjcompumats.2017.28}, number={1}, journal={npj Computational Materials}, "
    "author={Ward, Logan and Agrawal, Ankit and Choudhary, Alok and Wolverton, Christopher}, "
    "year={2016}}"
)
DEML_2016 = (
    "@article{deml_ohayre_wolverton_stevanovic_2016, title={Predicting density functional "
    "theory total energies and enthalpies of formation of metal-nonmetal compounds by linear "
    "regression}, volume={47}, DOI={10.1002/chin.201644254}, number={44}, "
    "journal={ChemInform}, author={Deml, Ann M. and Ohayre, Ryan and Wolverton, Chris and "
    "Stevanovic, Vladan}, year={2016}}"
)
WARD_2018 = (
    "@article{ward_2018_matminer, title={Matminer: An open source toolkit for materials data "
    "mining}, volume={152}, DOI={10.1016/j.commatsci.2018.05.018}, journal={Computational "
    "Materials Science}, author={Ward, Logan and Dunn, Alexander and Faghaninia, Alireza and "
    "Zimmermann, Nils E.R. and Bajaj, Saurabh and Wang, Qi and Montoya, Joseph and Chen, "
    "Jiming and Bystrom, Kyle and Dylla, Maxwell and others}, year={2018}, pages={60--69}}"
)
ONG_2013 = (
    "@article{Ong2013, author={Ong, Shyue Ping and Richards, William Davidson and Jain, "
    "Anubhav and Hautier, Geoffroy and Kocher, Michael and Cholia, Shreyas and Gunter, Dan "
    "and Chevrier, Vincent L. and Persson, Kristin A. and Ceder, Gerbrand}, "
    "doi={10.1016/j.commatsci.2012.10.028}, journal={Computational Materials Science}, "
    "pages={314--319}, title={Python Materials Genomics (pymatgen): A robust, open-source "
    "python library for materials analysis}, volume={68}, year={2013}}"
)
MATGENOME = "matgenome developers"
