"""pandas 1.x reporting code."""
import pandas as pd


def summary(path):
    df = pd.read_csv(path, error_bad_lines=False)
    for name, column in df.iteritems():
        print(name, column.mean())
    df.to_csv("out.csv", line_terminator="\n")
    return df


def grow(df: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    df = df.append(extra)
    return df
