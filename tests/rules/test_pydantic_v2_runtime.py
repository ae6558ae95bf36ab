"""The pydantic rules end to end: V1 models, migrated by the shipped knowledge base, run under pydantic 2.

The models are written the way FastAPI and SQLModel projects wrote them for pydantic 1. The
test migrates the module with every fix (``--unsafe-fixes``), imports the result in a fresh
interpreter with pydantic 2's deprecation warnings turned into errors, validates sample
inputs and compares with the values pydantic 1 gave (written out by hand below).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from recode_lsp.engine.detector import DetectOptions, analyse, detect
from recode_lsp.engine.knowledge import load_knowledge_base
from recode_lsp.engine.validator import fix_and_validate

pydantic = pytest.importorskip("pydantic")
pytest.importorskip("pydantic_settings")

V1_MODELS = '''\
from typing import Generic, List, Optional, TypeVar

from pydantic import BaseModel, BaseSettings, Field, conint, conlist, constr, root_validator, validator
from pydantic.generics import GenericModel

T = TypeVar("T")


class ItemBase(BaseModel):
    title: str
    description: Optional[str]
    tags: List[str] = []

    @validator("title", pre=True)
    def strip_title(cls, v):
        return v.strip()

    class Config:
        """Items read from ORM rows."""

        orm_mode = True
        anystr_strip_whitespace = True


class UserCreate(BaseModel):
    email: str
    password: str
    password2: str
    nickname: Optional[str]

    @validator("email")
    def lower_email(cls, v):
        return v.lower()

    @validator("password2")
    def passwords_match(cls, v, values):
        if "password" in values and v != values["password"]:
            raise ValueError("passwords do not match")
        return v


class Range(BaseModel):
    low: int
    high: Optional[int]

    @root_validator(pre=True)
    def default_high(cls, values):
        if values.get("high") is None:
            values["high"] = values.get("low")
        return values

    @root_validator(skip_on_failure=True)
    def ordered(cls, values):
        if values["low"] > values["high"]:
            raise ValueError("low > high")
        return values


class HeroBase(BaseModel):
    name: str = Field(..., max_length=20)
    secret_name: str
    age: Optional[int]


class Page(GenericModel, Generic[T]):
    items: List[T]
    total: int


class Product(BaseModel):
    sku: constr(strip_whitespace=True, min_length=3)
    quantity: conint(ge=0)
    sizes: conlist(int, min_items=1)
    kind: str = Field("product", const=True)
    id: int = Field(..., allow_mutation=False)


class Tags(BaseModel):
    __root__: List[str]

    def first(self):
        return self.__root__[0]


class Settings(BaseSettings):
    app_name: str = "demo"
    admin_email: Optional[str]

    class Config:
        env_prefix = "DEMO_"
        case_sensitive = False
'''

CHECK = """\
import json, os, sys
import pydantic
sys.path.insert(0, sys.argv[1])
import models as m

out = {}
item = m.ItemBase(title="  Hello ", tags=["a"])
out["item"] = [item.title, item.description, item.tags]
row = type("Row", (), {"title": "Row", "description": "d", "tags": []})()
out["from_row"] = m.ItemBase.model_validate(row).title
user = m.UserCreate(email="A@B.COM", password="x", password2="x")
out["user"] = [user.email, user.nickname]
try:
    m.UserCreate(email="a", password="x", password2="y")
    out["mismatch"] = "accepted"
except pydantic.ValidationError as exc:
    out["mismatch"] = "passwords do not match" in str(exc)
out["range"] = [m.Range(low=3).high, m.Range(low=1, high=5).high]
try:
    m.Range(low=9, high=2)
    out["disorder"] = "accepted"
except pydantic.ValidationError as exc:
    out["disorder"] = "low > high" in str(exc)
out["hero"] = m.HeroBase(name="Dive", secret_name="Dive Wilson").age
out["page"] = m.Page[int](items=["1", 2], total=2).items
product = m.Product(sku="  abc ", quantity="3", sizes=["1"], id=7)
out["product"] = [product.sku, product.quantity, product.sizes, product.kind, product.id]
rejected = []
for bad in ({"sku": "ab"}, {"sizes": []}, {"quantity": -1}, {"kind": "dog"}):
    try:
        m.Product(**{"sku": "abc", "quantity": 1, "sizes": [1], "id": 1, **bad})
        rejected.append(False)
    except pydantic.ValidationError:
        rejected.append(True)
out["product_rejects"] = rejected
out["tags"] = m.Tags.model_validate(["x", "y"]).first()
os.environ["DEMO_APP_NAME"] = "from-env"
out["settings"] = [m.Settings().app_name, m.Settings().admin_email]
print(json.dumps(out))
"""

#: What pydantic 1 gives for the inputs above.
V1_VALUES = {
    "item": ["Hello", None, ["a"]],
    "from_row": "Row",
    "user": ["a@b.com", None],
    "mismatch": True,
    "range": [3, 5],
    "disorder": True,
    "hero": None,
    "page": [1, 2],
    "settings": ["from-env", None],
    "product": ["abc", 3, [1], "product", 7],
    "product_rejects": [True, True, True, True],
    "tags": "x",
}


def migrate(source: str) -> str:
    kb = load_knowledge_base()
    options = DetectOptions()
    analysis = analyse(source)
    findings = detect(source, kb, options, analysis=analysis)
    return fix_and_validate(analysis, findings, kb, options, unsafe=True).source


def test_migrated_models_validate_like_v1_under_pydantic_2(tmp_path: Path) -> None:
    assert pydantic.VERSION.startswith("2.")
    migrated = migrate(V1_MODELS)
    for v1_only in (
        r"\bvalidator\b",
        r"\broot_validator\b",
        "GenericModel",
        "class Config",
        "skip_on_failure",
        r"\bcon(str|int|list)\b",
        "__root__",
        "const=",
        "allow_mutation",
    ):
        assert re.search(v1_only, migrated) is None, v1_only + "\n" + migrated
    (tmp_path / "models.py").write_text(migrated, encoding="utf-8")
    check = tmp_path / "check.py"
    check.write_text(CHECK, encoding="utf-8")
    env = {"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"}
    completed = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", str(check), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr + "\n" + migrated
    assert json.loads(completed.stdout) == V1_VALUES


def test_the_v1_module_fails_under_pydantic_2(tmp_path: Path) -> None:
    """The check is real: the unmigrated module does not even import under pydantic 2."""
    (tmp_path / "models.py").write_text(V1_MODELS, encoding="utf-8")
    check = tmp_path / "check.py"
    check.write_text(CHECK, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, str(check), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode != 0


def test_migration_text(tmp_path: Path) -> None:
    migrated = migrate(V1_MODELS)
    expected_parts = [
        "    description: Optional[str] = None\n",
        '    @field_validator("title", mode="before")\n    @classmethod\n    def strip_title(cls, v):\n',
        "    def passwords_match(cls, v, info):\n",
        '    @model_validator(mode="after")\n    def ordered(self):\n        if self.low > self.high:\n',
        "class Page(BaseModel, Generic[T]):\n",
        textwrap.indent(
            "model_config = ConfigDict(\n    # Items read from ORM rows.\n    from_attributes=True,\n"
            "    str_strip_whitespace=True,\n)\n",
            "    ",
        ),
        'model_config = SettingsConfigDict(env_prefix="DEMO_", case_sensitive=False)\n',
    ]
    for part in expected_parts:
        assert part in migrated, part + "\n---\n" + migrated


#: LangChain 0.0.200's shape: the model's pydantic base is in another module of the project.
V1_BASE = """\
from pydantic import BaseModel


class Base(BaseModel):
    class Config:
        anystr_strip_whitespace = True
"""
V1_INVOICE = '''\
from datetime import date
from typing import Dict, List

from pydantic import Extra, condate, condecimal, root_validator, validator

from base import Base


class Invoice(Base):
    """The pydantic base is in another module."""

    total: condecimal(max_digits=6, decimal_places=2)
    due: condate(gt=date(2000, 1, 1))
    lines: List[str] = []
    label: str = ""

    class Config:
        """Configuration for this pydantic object."""

        extra = Extra.forbid
        validate_assignment = True

    @validator("lines", always=True)
    def default_lines(cls, v: List[str], values: Dict) -> List[str]:
        return v or [f"total {values.get('total')}"]

    @root_validator()
    def fill_label(cls, values: Dict) -> Dict:
        values["label"] = values["label"] or f"due {values['due']}"
        return values
'''
CHECK_INVOICE = """\
import json, sys
import pydantic
sys.path.insert(0, sys.argv[1])
import models as m

out = {}
invoice = m.Invoice(total="12.5", due="2024-02-03")
out["invoice"] = [str(invoice.total), str(invoice.due), invoice.lines, invoice.label]
out["given"] = m.Invoice(total=1, due="2024-02-03", lines=["a"], label="x").lines
rejected = []
for bad in ({"total": "12.345"}, {"due": "1999-01-01"}, {"extra": 1}):
    try:
        m.Invoice(**{"total": 1, "due": "2024-02-03", **bad})
        rejected.append(False)
    except pydantic.ValidationError:
        rejected.append(True)
out["rejects"] = rejected
print(json.dumps(out))
"""
#: What pydantic 1 gives for the inputs above (``always=True`` ran on the default ``[]``).
V1_INVOICE_VALUES = {
    "invoice": ["12.5", "2024-02-03", ["total 12.5"], "due 2024-02-03"],
    "given": ["a"],
    "rejects": [True, True, True],
}


def migrate_fully(source: str) -> str:
    """Fix until nothing changes (as ``--apply`` does)."""
    for _ in range(3):
        source = migrate(source)
    return source


def test_model_with_its_base_in_another_module_runs_like_v1_under_pydantic_2(tmp_path: Path) -> None:
    """``always=True``, a post root validator writing ``values``, ``condecimal`` / ``condate`` and a
    ``Config`` with a docstring, in a model whose pydantic base this module cannot see."""
    base, invoice = migrate_fully(V1_BASE), migrate_fully(V1_INVOICE)
    for v1_only in (r"\bvalidator\(", r"\broot_validator\b", "class Config", r"\bcon(decimal|date)\(", "always="):
        assert re.search(v1_only, invoice) is None, v1_only + "\n" + invoice
    assert "Field([], validate_default=True)" in invoice
    assert "values = self.__dict__" in invoice
    (tmp_path / "base.py").write_text(base, encoding="utf-8")
    (tmp_path / "models.py").write_text(invoice, encoding="utf-8")
    check = tmp_path / "check.py"
    check.write_text(CHECK_INVOICE, encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", str(check), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1"},
        cwd=tmp_path,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr + "\n" + invoice
    assert json.loads(completed.stdout) == V1_INVOICE_VALUES
