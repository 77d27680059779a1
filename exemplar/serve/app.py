"""The web app: a small Starlette (ASGI) app serving one plain page and a JSON API.

Routes (no request ever carries a path; uploads and jobs are named by server-made ids):
  GET  /                         the page (index.html, app.js, hints.js, style.css: package data, read once)
  GET  /api/config               what the page offers: palettes, the reference folder, readiness, whether
                                 the model takes colour hints, and the page's defaults and limits (the page
                                 hard-codes none of them)
  POST /api/uploads?role=R&name=N  the raw file as the body, streamed to the workspace with a size cap
  GET  /api/uploads/{id}/preview a small 8-bit PNG of an upload, for the page
  GET  /api/library/{n}/thumb    a thumbnail of the reference folder's n-th photo
  POST /api/jobs                 JSON {target, references, library, search, top_k, palette, strength, vividness,
                                 video, hints}; hints: [{x, y, colour, units}], x and y fractions of the
                                 photo's width and height in [0, 1] (units "fraction", the default) or
                                 pixels of the uploaded photo (units "pixels"), colour a hex or CSS name
  GET  /api/jobs?ids=a,b         the state of those jobs (the page polls its own)
  GET  /api/jobs/{id}/preview    the result, small, for the before/after view
  GET  /api/jobs/{id}/result     the full-resolution PNG (a film: MP4), as a download

Uploads are the raw body (``fetch(url, {body: file})``), not multipart: the server streams it
straight into its own folder and stops reading the moment the size limit is passed, and no
multipart parser spools the file somewhere else first.
"""

from importlib.resources import files

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from exemplar.serve.jobs import QueueFull
from exemplar.serve.workspace import UploadError, display_name

ASSETS = {"index.html": "text/html; charset=utf-8", "app.js": "text/javascript; charset=utf-8",
          "hints.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
MAX_REFERENCES = 16
STRENGTH = 1.0  # the page's starting strength: the full colorization
TOP_K, MAX_TOP_K = 3, 8  # photos found in the reference folder: the page's start, and the most
MAX_VIVIDNESS = 0.95  # as exemplar colorize --vividness: past it the colours only get patchier
HINT_UNITS = ("fraction", "pixels")


def build_app(workspace, engine, jobs):
    """The ASGI app over a Workspace, an Engine and the JobQueue running it."""
    assets = {name: (files("exemplar.serve") / "static" / name).read_bytes() for name in ASSETS}

    def problem(message, status=400):
        return JSONResponse({"error": message}, status_code=status)

    async def page(request):
        name = request.path_params.get("asset", "index.html")
        return Response(assets[name], media_type=ASSETS[name], headers={"Cache-Control": "no-cache"})

    async def config(request):
        from exemplar.methods.palette import BUILTIN, parse_palette

        from exemplar.methods.hints import MAX_HINTS

        ready = jobs.ready.is_set()
        return JSONResponse({
            "ready": ready, "load_error": jobs.load_error, "method": engine.options["method"],
            "size": engine.options["size"],
            "palettes": {name: parse_palette(name).hex() for name in BUILTIN},
            "library": [label for label, _ in engine.library] if ready else [],
            "has_reference_dir": engine.reference_dir is not None,
            "hints": ready and engine.hints_available, "hints_note": engine.hints_note,
            # vividness None: the method has no such setting (match); the page hides its slider
            "defaults": {"strength": STRENGTH, "vividness": engine.vividness, "top_k": TOP_K},
            "limits": {"max_upload_mb": workspace.max_upload_bytes / 1e6, "max_megapixels": workspace.max_pixels / 1e6,
                       "max_references": MAX_REFERENCES, "max_top_k": MAX_TOP_K, "max_vividness": MAX_VIVIDNESS,
                       "max_hints": MAX_HINTS},
        })

    async def upload(request):
        name = display_name(request.query_params.get("name"))
        role = request.query_params.get("role", "target")
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and workspace.too_big(name, int(declared)):
            return problem(workspace.too_big(name, int(declared)), 413)
        upload_id, path = workspace.new_upload_path()
        size = 0
        with open(path, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if workspace.too_big(name, size):
                    out.close()
                    path.unlink(missing_ok=True)
                    return problem(workspace.too_big(name, size), 413)
                out.write(chunk)
        if size == 0:
            path.unlink(missing_ok=True)
            return problem(f"{name}: the file is empty (0 bytes)")
        try:
            accepted = await run_in_threadpool(workspace.accept, upload_id, path, name, role)
        except UploadError as error:
            return problem(str(error), error.status)
        return JSONResponse({"id": accepted.id, "name": accepted.name, "role": accepted.role, **accepted.info,
                             "preview": f"/api/uploads/{accepted.id}/preview"})

    async def upload_preview(request):
        try:
            return FileResponse(workspace.upload(request.path_params["id"]).preview, media_type="image/png")
        except UploadError as error:
            return problem(str(error), error.status)

    async def library_thumb(request):
        number = request.path_params["n"]
        if not 0 <= number < len(engine.library):
            return problem("no such photo in the reference folder", 404)
        return FileResponse(workspace.root / "library" / f"{number}.png", media_type="image/png")

    async def submit(request):
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError
        except ValueError:
            return problem("the request is not a JSON object")
        try:
            spec = _job_spec(body, workspace, engine)
            target = workspace.upload(spec["target"], "video" if spec["video"] else "target")
            job = jobs.submit(target.name, spec)
        except UploadError as error:
            return problem(str(error), error.status)
        except QueueFull as error:
            return problem(str(error), 503)
        return JSONResponse(jobs.status(job.id), status_code=202)

    async def job_states(request):
        ids = request.query_params.get("ids", "").split(",")[:500]
        return JSONResponse({"jobs": [state for state in map(jobs.status, ids) if state is not None]})

    def finished(request, name):
        """-> (job, path of its file ``name``), or (None, the error response) when there is no such result."""
        job = jobs.get(request.path_params["id"])
        if job is None or job.state != "done":
            return None, problem("no finished result with that id (it may have been cleared)", 404)
        return job, workspace.root / "jobs" / job.id / name

    async def job_preview(request):
        job, found = finished(request, "preview.png")
        return found if job is None else FileResponse(found, media_type="image/png")

    async def job_result(request):
        job, found = finished(request, "result.png")
        if job is not None and job.result.get("video"):
            return FileResponse(found.with_name("result.mp4"), media_type="video/mp4", filename=job.result["download"])
        return found if job is None else FileResponse(found, media_type="image/png", filename=job.result["download"])

    routes = [
        Route("/", page), Route("/{asset:str}", page_or_404(page)),
        Route("/api/config", config), Route("/api/uploads", upload, methods=["POST"]),
        Route("/api/uploads/{id:str}/preview", upload_preview), Route("/api/library/{n:int}/thumb", library_thumb),
        Route("/api/jobs", submit, methods=["POST"]), Route("/api/jobs", job_states),
        Route("/api/jobs/{id:str}/preview", job_preview), Route("/api/jobs/{id:str}/result", job_result),
    ]
    return Starlette(routes=routes)


def page_or_404(page):
    async def asset(request):
        if request.path_params["asset"] not in ASSETS:
            return JSONResponse({"error": "not found"}, status_code=404)
        return await page(request)

    return asset


def _job_spec(body, workspace, engine):
    """Check a job request's fields (types, ranges, ids) -> the spec the engine runs; UploadError if bad."""
    from exemplar.core.errors import ExemplarError
    from exemplar.methods.palette import parse_palette

    references = body.get("references") or []
    library = body.get("library") or []
    if not isinstance(references, list) or not isinstance(library, list):
        raise UploadError("references and library must be lists")
    if len(references) + len(library) > MAX_REFERENCES:
        raise UploadError(f"at most {MAX_REFERENCES} references can be used at once")
    for upload_id in references:
        workspace.upload(upload_id, "reference")
    if not all(isinstance(n, int) and 0 <= n < len(engine.library) for n in library):
        raise UploadError("a chosen reference-folder photo is not in the folder (reload the page)")
    palette = body.get("palette") or None
    if palette is not None:
        try:
            parse_palette(str(palette))
        except ExemplarError as error:
            raise UploadError(str(error)) from error
    search, video = bool(body.get("search")), bool(body.get("video"))
    if video and search:
        raise UploadError("for a film, pick references yourself: finding similar photos works on photos only")
    if palette is not None and (references or library or search):
        raise UploadError("give colour references or a palette, not both")
    strength, vividness, top_k = body.get("strength", STRENGTH), body.get("vividness"), body.get("top_k", TOP_K)
    if not _number(strength) or not 0 <= strength <= 1:
        raise UploadError("strength must be a number between 0 and 1")
    if vividness is not None and (not _number(vividness) or not 0 <= vividness <= MAX_VIVIDNESS):
        raise UploadError(f"vividness must be a number from 0 to {MAX_VIVIDNESS}")
    if not isinstance(top_k, int) or not 1 <= top_k <= MAX_TOP_K:
        raise UploadError(f"the number of references to find must be between 1 and {MAX_TOP_K}")
    hints = _hints(body.get("hints") or [], workspace, body.get("target"), video, engine)
    return {"target": body.get("target"), "references": references, "library": library, "search": search,
            "top_k": top_k, "palette": palette, "strength": float(strength), "video": video,
            "vividness": None if vividness is None else float(vividness), "hints": hints}


def _hints(hints, workspace, target_id, video, engine):
    """The request's hints -> [(x, y, "#rrggbb")] for Colorizer.run: x, y pixels or "42.5%" strings.

    Each hint is {"x", "y", "colour", "units"}; a bad one is refused naming it ("hint 2: ..."), as
    are more than exemplar.methods.hints.MAX_HINTS, hints on a film, and hints to a model without the input.
    """
    from exemplar.core.errors import ExemplarError
    from exemplar.methods.hints import MAX_HINTS, parse_colour

    if not isinstance(hints, list):
        raise UploadError("hints must be a list of {x, y, colour}")
    if not hints:
        return []
    if video:
        raise UploadError("colour hints work on photos, not films, from this page")
    if not engine.hints_available:
        raise UploadError(f"colour hints cannot be used: {engine.hints_note}")
    if len(hints) > MAX_HINTS:
        raise UploadError(f"{len(hints)} hints given; at most {MAX_HINTS} are taken")
    info = workspace.upload(target_id, "target").info
    resolved = []
    for number, hint in enumerate(hints, 1):
        if not isinstance(hint, dict) or not {"x", "y", "colour"} <= set(hint):
            raise UploadError(f"hint {number}: needs x, y and colour")
        x, y, units = hint["x"], hint["y"], hint.get("units", "fraction")
        if units not in HINT_UNITS:
            raise UploadError(f"hint {number}: units must be one of {', '.join(HINT_UNITS)}, not {units!r}")
        if not (_number(x) and _number(y)):
            raise UploadError(f"hint {number}: x and y must be numbers")
        if units == "fraction":
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise UploadError(f"hint {number}: ({x:g}, {y:g}) is outside the picture (fractions 0 to 1)")
            x, y = f"{100 * x:.4f}%", f"{100 * y:.4f}%"
        elif not (0 <= x < info["width"] and 0 <= y < info["height"]):
            raise UploadError(f"hint {number}: ({x:g}, {y:g}) is outside the picture "
                              f"(0 to {info['width'] - 1}, 0 to {info['height'] - 1} pixels)")
        try:
            red, green, blue = parse_colour(hint["colour"], str(number))
        except ExemplarError as error:
            raise UploadError(str(error)) from error
        resolved.append((float(x) if units == "pixels" else x, float(y) if units == "pixels" else y,
                         f"#{red:02x}{green:02x}{blue:02x}"))
    return resolved


def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
