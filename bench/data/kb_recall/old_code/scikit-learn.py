# ruff: noqa: E501
# Benchmark data: each old use keeps its # old-api marker on its own line, so no formatting.
# fmt: off
"""Model training and reporting written against scikit-learn 1.0 (benchmark input: kb_recall,
target scikit-learn==1.2.2).

Every line that uses an API changed by 1.2.2 ends with ``# old-api: <change>``.
"""

import matplotlib.pyplot as plt
from sklearn import metrics
from sklearn.calibration import CalibratedClassifierCV
from sklearn.cluster import AgglomerativeClustering
from sklearn.datasets import load_boston  # old-api: sklearn.datasets.load_boston
from sklearn.ensemble import BaggingClassifier
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.inspection import plot_partial_dependence  # old-api: sklearn.inspection.plot_partial_dependence
from sklearn.linear_model import LinearRegression, Ridge
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import FeatureUnion
from sklearn.preprocessing import OneHotEncoder
from sklearn.svm import LinearSVC
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.graph import graph_shortest_path  # old-api: sklearn.utils.graph.graph_shortest_path


def regression_baselines():
    X, y = load_boston(return_X_y=True)
    linear = LinearRegression(normalize=True).fit(X, y)  # old-api: sklearn.linear_model.LinearRegression(normalize)
    ridge = Ridge(alpha=0.5, normalize=True).fit(X, y)  # old-api: sklearn.linear_model.Ridge(normalize)
    plot_partial_dependence(linear, X, [0, 1])
    return linear, ridge


def vocabulary(docs):
    vectorizer = CountVectorizer(min_df=2)
    vectorizer.fit(docs)
    return vectorizer.get_feature_names()  # old-api: sklearn.feature_extraction.text.CountVectorizer.get_feature_names


def union_names(union: FeatureUnion):
    return union.get_feature_names()  # old-api: sklearn.pipeline.FeatureUnion.get_feature_names


def class_variances(X, y):
    model = GaussianNB().fit(X, y)
    return model.sigma_  # old-api: sklearn.naive_bayes.GaussianNB.sigma_


def encode(categories):
    encoder = OneHotEncoder(sparse=False, handle_unknown="ignore")  # old-api: sklearn.preprocessing.OneHotEncoder(sparse)
    return encoder.fit_transform(categories)


def bagged_trees(X, y):
    bag = BaggingClassifier(base_estimator=DecisionTreeClassifier(), n_estimators=20)  # old-api: sklearn.ensemble.BaggingClassifier(base_estimator)
    return bag.fit(X, y)


def calibrated(X, y):
    model = CalibratedClassifierCV(base_estimator=LinearSVC(), cv=3)  # old-api: sklearn.calibration.CalibratedClassifierCV(base_estimator)
    return model.fit(X, y)


def clusters(X):
    return AgglomerativeClustering(n_clusters=3, affinity="cosine", linkage="average").fit_predict(X)  # old-api: sklearn.cluster.AgglomerativeClustering(affinity)


def report(model, X_test, y_test):
    metrics.plot_confusion_matrix(model, X_test, y_test)  # old-api: sklearn.metrics.plot_confusion_matrix
    metrics.plot_roc_curve(model, X_test, y_test)  # old-api: sklearn.metrics.plot_roc_curve
    metrics.plot_precision_recall_curve(model, X_test, y_test)  # old-api: sklearn.metrics.plot_precision_recall_curve
    plt.show()


def distances(graph):
    return graph_shortest_path(graph, directed=False)
