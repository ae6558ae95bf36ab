"""Data models written for pydantic 1.x."""
from typing import List, Optional

from pydantic import BaseModel, Field, validator


class Sample(BaseModel):
    name: str = Field(..., regex=r"^[a-z]+$")
    values: List[float] = Field(default_factory=list, min_items=1)
    unit: Optional[str] = None

    class Config:
        orm_mode = True
        anystr_strip_whitespace = True

    @validator("name")
    def lower(cls, value):
        return value.lower()


def load(raw: dict) -> Sample:
    sample = Sample.parse_obj(raw)
    print(sample.json())
    return sample
