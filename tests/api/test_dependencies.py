"""Every dependency of every route is a coroutine: FastAPI runs a plain `def` dependency in its
thread pool, a thread hop per dependency per request (about 11 % of the API's CPU on live reads)."""
from __future__ import annotations

import inspect

from fastapi.routing import APIRoute

from api.main import create_app


def _is_coroutine(call) -> bool:
    return (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
            or inspect.iscoroutinefunction(getattr(call, "__call__", None)))


def _routes(router):
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield route
        elif hasattr(route, "original_router"):  # an included router
            yield from _routes(route.original_router)


def _sync_dependencies(dependant) -> set[str]:
    found = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None and not _is_coroutine(dependency.call):
            found.add(f"{dependency.call.__module__}.{dependency.call.__qualname__}")
        found |= _sync_dependencies(dependency)
    return found


def test_no_route_has_a_dependency_that_would_run_in_the_thread_pool():
    routes = list(_routes(create_app().router))
    assert len(routes) > 30  # every resource's router was walked
    assert {name for route in routes for name in _sync_dependencies(route.dependant)} == set()
