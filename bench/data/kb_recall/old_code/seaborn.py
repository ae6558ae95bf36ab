# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Exploratory plots written against seaborn 0.10 (benchmark input: kb_recall, target seaborn==0.11.2).

Every line that uses an API changed by 0.11.2 ends with ``# old-api: <change>``.
"""

import matplotlib.pyplot as plt
import seaborn as sns
from seaborn import utils


def distributions(df):
    fig, axes = plt.subplots(2, 2)
    sns.distplot(df["age"], ax=axes[0, 0])  # old-api: seaborn.distplot
    sns.kdeplot(df["age"], bw=0.3, ax=axes[0, 1])  # old-api: seaborn.kdeplot(bw)
    sns.kdeplot(df["age"], data2=df["income"], ax=axes[1, 0])  # old-api: seaborn.kdeplot(data2)
    sns.kdeplot(df["age"], df["income"], shade=True, shade_lowest=False, ax=axes[1, 1])  # old-api: seaborn.kdeplot(shade_lowest)
    return fig


def sideways(df, ax):
    sns.kdeplot(df["income"], vertical=True, ax=ax)  # old-api: seaborn.kdeplot(vertical)
    sns.kdeplot(df["income"], kernel="epa", ax=ax)  # old-api: seaborn.kdeplot(kernel)


def rugs(df, ax):
    sns.rugplot(a=df["age"], ax=ax)  # old-api: seaborn.rugplot(a)
    sns.rugplot(df["income"], axis="y", ax=ax)  # old-api: seaborn.rugplot(axis)


def letter_values(df):
    return sns.lvplot(x="group", y="income", data=df)  # old-api: seaborn.lvplot


def joint(df):
    from scipy import stats

    grid = sns.jointplot("age", "income", data=df, stat_func=stats.pearsonr)  # old-api: seaborn.jointplot(stat_func)
    sns.jointplot("age", "income", data=df, annot_kws={"loc": "upper left"})  # old-api: seaborn.jointplot(annot_kws)
    return grid


def labels():
    utils.axlabel("age", "income")  # old-api: seaborn.utils.axlabel


def spread(values):
    return utils.iqr(values)  # old-api: seaborn.utils.iqr
