"""Response models of the compound endpoints, so OpenAPI shows what each answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class ErrorBody(BaseModel):
    code: str = Field(description="OGC-style error code, e.g. NotFound, InvalidParameterValue")
    description: str


class FeatureCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(description="GeoJSON Features (id, geometry, properties)")
    numberReturned: int  # noqa: N815 - GeoJSON/OGC member name


class CompoundRef(BaseModel):
    id: int
    name: str | None
    properties: dict[str, Any] = Field(description="all fields of the compound")
    geometry: dict[str, Any] = Field(description="the compound polygon (GeoJSON, lon/lat)")


class AssetsBody(BaseModel):
    compound: CompoundRef
    buffer_m: float
    counts: dict[str, int] = Field(description="features per asset layer")
    layers: dict[str, FeatureCollection] = Field(description="per asset layer, the features found")


class CompoundFacts(BaseModel):
    id: int
    name: str | None
    households: int | None
    area_m2: float
    centroid: list[float] = Field(description="[lon, lat] of the centroid taken in metres")


class ParkingBody(BaseModel):
    compound_spaces: int = Field(description="the compound's parking_spaces attribute")
    facilities: int = Field(description="compound-kind parking facilities inside the compound")
    facilities_capacity: int = Field(description="their total capacity")
    supply: int = Field(description="compound_spaces + facilities_capacity")
    per_household: float | None


class NearestHydrant(BaseModel):
    id: int
    distance_m: float = Field(description="from the compound's centroid")


class FarthestPoint(BaseModel):
    lon: float
    lat: float
    distance_m: float = Field(description="to the nearest working hydrant")


class HydrantsBody(BaseModel):
    radius_m: float = Field(description="protection radius used (GB 50974-2014 default 150 m)")
    status_counted: str = Field(description="the only status that counts toward coverage")
    considered: int = Field(description="working hydrants that can be nearest to some part of the compound")
    nearest: NearestHydrant | None
    farthest_point: FarthestPoint | None = Field(description="the compound's point farthest from any working "
                                                             "hydrant (exact, via the hydrants' Voronoi cells)")
    fully_covered: bool = Field(description="every point of the compound within radius_m of a working hydrant")
    covered_share: float = Field(description="share of the compound's area within radius_m of a working hydrant")


class SummaryBody(BaseModel):
    compound: CompoundFacts
    buffer_m: float
    counts: dict[str, int]
    by_status: dict[str, dict[str, int]] = Field(description="per layer with a status field: features per status")
    per_100_households: dict[str, float | None]
    parking: ParkingBody | None
    hydrants: HydrantsBody | None


class NearestBody(FeatureCollection):
    query: dict[str, Any] = Field(description="the point, k and max_m searched")


class SearchHit(BaseModel):
    id: int
    name: str | None
    district: str | None
    street: str | None
    source_id: str | None = Field(None, description="the compound's id in the source it was imported from")
    bbox: list[float] = Field(description="[minlon, minlat, maxlon, maxlat]")
    match: Literal["id", "source_id", "name"]


class SearchBody(BaseModel):
    query: str
    numberReturned: int  # noqa: N815
    results: list[SearchHit]


# Errors are always application/json, also on routes whose success type is GeoJSON.
_ERROR_JSON = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
ERRORS = {400: {"model": ErrorBody, "description": "a parameter is invalid", "content": _ERROR_JSON},
          404: {"model": ErrorBody, "description": "no such compound or collection", "content": _ERROR_JSON}}
