"""Errors the user or the environment caused, each with a one-line message saying what to do.

What the *model* caused (a syntax error in its cell, an exception, a timeout) is never raised
as one of these: it goes back to the model as the step's observation. These are for the
person running SpatialClaw; the CLI prints ``error: <message>`` and exits non-zero, with a
traceback only under ``--debug``.

Message text lives here, in one place: the classes' constructors (``ModelError.bad_key(...)``,
``InputError.missing(path)``, ``PerceptionError.too_few_registered(...)``, as nbclient's
``exceptions.py`` builds its messages), the templates of what the host tells the model about its
cell (``TIMEOUT_TEXT``, ``DIED_TEXT``, ...), and `LIBRARY_ERRORS`, the table that turns what a
library raises past our code (a full disk, a missing package) into one line, as
huggingface_hub's CLI does. The kernel imports this module too (it needs only the standard
library and `spatialclaw.config`): a `PerceptionError` raised there reaches the model as its
one line. Quality warnings that travel with results (`ReconstructionQuality.warnings`) are not
errors and stay beside the code that finds them.
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from spatialclaw.config import ENV_API_KEY, ENV_BASE_URL, ENV_MODEL


# What the default local model's notices and errors end with (`spatialclaw.models.local_default`).
CHOOSE_ANOTHER_MODEL_TEXT = "choose another with --model hf:PATH_OR_ID, or a server with --base-url and --model"


class SpatialClawError(Exception):
    """Base class: ``str(err)`` is a complete one-line message for the user."""

    exit_code: int = 2
    # The word a kernel's set-up report uses for this kind of refusal (see `refusal_from_report`).
    refusal_kind: str | None = None

    @classmethod
    def recorded(cls, error_type: str, error: str) -> SpatialClawError:
        """A failure known only by its recorded type name and message (a worker's), raised again."""
        return cls(f"{error_type}: {error}")

    def with_note(self, note: str) -> SpatialClawError:
        """The same kind of error with ``note`` appended to its message."""
        return type(self)(f"{self}{note}")


class InputError(SpatialClawError):
    """The input (video, images, RGB-D folder, question file) is missing or unreadable.

    ``path`` in the constructors is the input, file or folder the message is about.
    """

    refusal_kind = "input"

    # --- what was given

    @classmethod
    def missing(cls, path: object) -> InputError:
        return cls(f"{path} does not exist: check the path (give a video, an image, a folder of images or an RGB-D folder)")

    @classmethod
    def no_inputs(cls) -> InputError:
        return cls("an empty list of inputs was given: pass a video, one or more images, or a folder")

    @classmethod
    def names_mismatch(cls, names: int, inputs: int) -> InputError:
        return cls(f"{names} names for {inputs} inputs: give one name per input")

    @classmethod
    def not_all_images(cls, path: object, image_suffixes: str) -> InputError:
        return cls(f"{path} is not an image ({image_suffixes}): several inputs must all be images; pass a video or a folder on its own")

    @classmethod
    def folder_of_videos(cls, path: object, videos: int, example: str) -> InputError:
        return cls(f"{path} holds no images but {videos} video(s), e.g. {example}: pass one video file instead")

    @classmethod
    def no_images_in_folder(cls, path: object, image_suffixes: str) -> InputError:
        return cls(f"{path} holds no images ({image_suffixes}): put images in it, or pass a video or an RGB-D folder")

    @classmethod
    def unknown_kind(cls, path: object, suffix: str, video_suffixes: str) -> InputError:
        return cls(
            f"{path} is not a video or an image (suffix {suffix or 'none'!r}): pass a video ({video_suffixes}), "
            "an image (.jpg, .png, ...), a folder of images or an RGB-D folder"
        )

    # --- sampling

    @classmethod
    def bad_fps(cls, fps: object) -> InputError:
        return cls(f"fps={fps!r} is not a positive number of frames per second: use e.g. --fps 1")

    @classmethod
    def frames_and_fps(cls, frames: object, fps: object) -> InputError:
        return cls(f"both frames={frames} and fps={fps} given: sample by count (--frames) or by rate (--fps), not both")

    @classmethod
    def bad_frames(cls, frames: object, default: int) -> InputError:
        return cls(f"frames={frames!r} is not a positive whole number: use e.g. --frames {default} (or --fps R)")

    @classmethod
    def fps_for_images(cls) -> InputError:
        return cls("fps sampling needs a video or an RGB-D folder (images have no times): use --frames N for images")

    # --- reading

    @classmethod
    def undecodable_image(cls, path: object) -> InputError:
        return cls(f"cannot decode the image {path}: it is damaged or not an image; replace or remove it")

    @classmethod
    def unreadable(cls, path: object, reason: object) -> InputError:
        return cls(f"cannot read {path}: {reason}; check that it exists and is readable")

    @classmethod
    def undecodable_video(cls, path: object, detail: str = "") -> InputError:
        why = f" ({detail})" if detail else ""
        return cls(f"{path} has no decodable video frames{why}: the file is truncated, corrupt or not a video; re-export or re-download it")

    @classmethod
    def no_video_track(cls, path: object) -> InputError:
        return cls(f"{path} has no video track: pass a video file with pictures in it")

    # --- the frame cache

    @classmethod
    def cache_folder(cls, err: object) -> InputError:
        return cls(f"cannot create the cache folder ({err}): set SPATIALCLAW_CACHE to a writable folder")

    @classmethod
    def cache_write(cls, path: object, reason: object) -> InputError:
        return cls(f"cannot write the frame cache {path} ({reason}): set SPATIALCLAW_CACHE to a writable folder")

    # --- RGB-D folders (the ScanNet layout)

    @classmethod
    def no_color_frames(cls, root: object) -> InputError:
        return cls(f"{root} has no color/<i>.jpg frames: an RGB-D folder needs the ScanNet layout (color/, depth/, pose/, intrinsic/)")

    @classmethod
    def partial_rgbd(cls, root: object, name: str, missing: int, frames: int, first: object) -> InputError:
        return cls(
            f"{root} is a partial RGB-D folder: {name} is missing for {missing} of {frames} "
            f"frames (first: {first}); re-export it or remove that folder to use the colour frames alone"
        )

    @classmethod
    def no_intrinsics(cls, root: object) -> InputError:
        return cls(f"{root} has depth or poses but no intrinsic/intrinsic_color.txt: add the 4×4 intrinsics file")

    @classmethod
    def no_instance_labels(cls, root: object) -> InputError:
        return cls(f"{root} has instance/ masks but no instance_labels.json: add {{\"<id>\": \"<label>\"}}")

    @classmethod
    def bad_meta(cls, path: object) -> InputError:
        return cls(f'{path} is not JSON with a number "fps": fix it (e.g. {{"fps": 30}}) or delete it')

    @classmethod
    def bad_meta_fps(cls, path: object, fps: float) -> InputError:
        return cls(f"{path} gives fps={fps}: the frame rate must be a positive number of frames per second")

    @classmethod
    def undecodable_frame(cls, path: object) -> InputError:
        return cls(f"cannot decode {path}: replace or remove that frame")

    @classmethod
    def bad_depth(cls, path: object) -> InputError:
        return cls(f"cannot read {path} as a uint16 depth PNG (millimetres)")

    @classmethod
    def unreadable_instances(cls, path: object) -> InputError:
        return cls(f"cannot read {path}")

    # --- downloads (checkpoints and benchmark datasets)

    @classmethod
    def download_failed(cls, repo: str, err: object) -> InputError:
        return cls(f"cannot download {repo} ({err}); check the network and rerun (finished files are kept)")

    # --- evaluation: files of rows (`spatialclaw.eval.table_files`); ``fix`` says what to do

    @classmethod
    def unreadable_parquet(cls, path: object, err: object, fix: str) -> InputError:
        return cls(f"cannot read {path} as parquet ({err}); {fix}")

    @classmethod
    def not_json(cls, path: object, msg: str, line: int, fix: str) -> InputError:
        return cls(f"{path} is not valid JSON ({msg} at line {line}); {fix}")

    @classmethod
    def not_json_line(cls, path: object, number: int, msg: str, fix: str) -> InputError:
        """Line ``number`` (from 1) of a JSONL file does not parse."""
        return cls(f"{path}:{number} is not valid JSON ({msg}); {fix}")

    @classmethod
    def unknown_table_type(cls, path: object, suffix: str, suffixes: tuple[str, ...]) -> InputError:
        listed = f"{', '.join(suffixes[:-1])} or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        return cls(f"{path}: unknown question-file type {suffix!r}; give a {listed} file")

    # --- evaluation: VSI-Bench question files (`spatialclaw.eval.records`)

    @classmethod
    def no_question_file(cls, path: object) -> InputError:
        return cls(f"question file {path} not found; give the path of a VSI-Bench .jsonl, .json or .parquet file")

    @classmethod
    def not_records(cls, path: object) -> InputError:
        return cls(f"{path} holds neither a list of records nor {{\"data\": [...]}}; give a VSI-Bench records file")

    @classmethod
    def not_a_record(cls, where: str, fields: tuple[str, ...]) -> InputError:
        return cls(f"{where}: a record must be an object with fields {', '.join(fields)}")

    @classmethod
    def record_lacks(cls, where: str, missing: list[str], fields: tuple[str, ...]) -> InputError:
        return cls(f"{where}: record lacks field(s) {', '.join(missing)}; VSI-Bench records need {', '.join(fields)}")

    @classmethod
    def field_not_text(cls, where: str, name: str, value: object) -> InputError:
        return cls(f"{where}: field {name!r} must be text, got {value!r}")

    @classmethod
    def bad_options(cls, where: str, value: object) -> InputError:
        return cls(f"{where}: 'options' must be a list of strings, got {value!r}")

    @classmethod
    def no_options(cls, where: str, question_type: str) -> InputError:
        return cls(f"{where}: {question_type} is multiple choice but the record has no options")

    @classmethod
    def bad_ground_truth(cls, where: str, err: object) -> InputError:
        return cls(f"{where}: {err}; fix the record")

    @classmethod
    def repeated_record_id(cls, where: str, record_id: str) -> InputError:
        return cls(f"{where}: id {record_id!r} appears twice; ids must be unique")

    @classmethod
    def no_records(cls, path: object) -> InputError:
        return cls(f"{path} holds no records")

    @classmethod
    def no_data_root(cls, root: object, *, released: bool) -> InputError:
        """``--data-root`` is not a folder: of a benchmark's released files (``released``), else of question files' videos."""
        holding = ("the benchmark's files (spatialclaw benchmarks download NAME --data-root DIR)" if released
                   else "<dataset>/<scene_name>.mp4 files under it")
        return cls(f"data root {root} is not a folder; pass --data-root with {holding}")

    @classmethod
    def no_scene(cls, scene: str, dataset: str, question: str, video: object, folder: object) -> InputError:
        return cls(
            f"scene {scene!r} of dataset {dataset!r} (question {question}) not found: expected "
            f"{video} or the folder {folder}/; put the benchmark's videos under --data-root as "
            f"<data-root>/<dataset>/<scene_name>.mp4"
        )

    @classmethod
    def scenes_missing(cls, first: InputError, scenes: int) -> InputError:
        """The first missing scene's error, and how many scenes are missing when more than one."""
        more = f" ({scenes} scenes missing in all)" if scenes > 1 else ""
        return cls(f"{first}{more}")

    # --- evaluation: a benchmark's released files (`spatialclaw.eval.benchmarks`); ``expected`` names them

    @classmethod
    def none_of(cls, root: object, patterns: tuple[str, ...], expected: str) -> InputError:
        return cls(f"{root} holds none of {', '.join(patterns)}; expected {expected}")

    @classmethod
    def no_parquet(cls, patterns: tuple[str, ...], root: object, expected: str) -> InputError:
        return cls(f"no parquet file matching {', '.join(patterns)} under {root}; expected {expected}")

    @classmethod
    def no_question_list(cls, path: object, expected: str) -> InputError:
        return cls(f"{path} holds no list of questions; expected {expected}")

    @classmethod
    def no_image(cls, what: str, cell: object) -> InputError:
        return cls(f"{what} holds no image ({type(cell).__name__}); the file does not have the released layout")

    @classmethod
    def not_under_root(cls, rel: object, root: object, expected: str) -> InputError:
        return cls(f"{rel} not found under {root} (nor in its .zip archives); expected {expected}")

    @classmethod
    def bad_zip(cls, archive: object) -> InputError:
        return cls(f"{archive} is not a readable zip archive; {DOWNLOAD_AGAIN_FIX}")

    @classmethod
    def unsafe_member(cls, archive: object, member: str) -> InputError:
        return cls(f"{archive} holds an unsafe member path {member!r}; refusing to extract it")

    @classmethod
    def bad_row(cls, benchmark: str, position: int, err: BaseException, expected: str) -> InputError:
        return cls(f"{benchmark}: row {position} does not have the released layout ({type(err).__name__}: {err}); "
                   f"expected {expected}")

    @classmethod
    def repeated_benchmark_id(cls, benchmark: str, record_id: str) -> InputError:
        return cls(f"{benchmark}: id {record_id!r} appears twice; check that --data-root holds one copy of the files")

    @classmethod
    def no_questions(cls, benchmark: str, data_root: object, expected: str) -> InputError:
        return cls(f"{benchmark}: no questions found under {data_root}; expected {expected}")

    # --- predictions, finished runs and their trajectories

    @classmethod
    def no_predictions_file(cls, path: object) -> InputError:
        return cls(f"predictions file {path} not found; give a .jsonl file with one {{\"id\", \"prediction\"}} per line")

    @classmethod
    def prediction_lacks(cls, path: object, number: int) -> InputError:
        return cls(f"{path}:{number} lacks \"id\" or \"prediction\"; each line must be {{\"id\", \"prediction\"}}")

    @classmethod
    def bad_prediction_line(cls, path: object, number: int, msg: str) -> InputError:
        return cls.not_json_line(path, number, msg, 'each line must be {"id", "prediction"}')

    @classmethod
    def repeated_prediction(cls, path: object, number: int, key: str) -> InputError:
        return cls(f"{path}:{number}: id {key!r} appears twice; give one prediction per question")

    @classmethod
    def not_a_run(cls, path: object) -> InputError:
        return cls(f"{path} is missing or not JSON: give run folders written by spatialclaw eval")

    @classmethod
    def no_trajectory_page(cls, page: object) -> InputError:
        return cls(f"{page} not found: pass a folder written by `spatialclaw ask --out DIR`")


class ConfigError(SpatialClawError):
    """A flag or environment setting is missing or inconsistent."""

    refusal_kind = "config"

    @classmethod
    def no_api_key(cls, url: str) -> ConfigError:
        return cls(
            f"no API key for {url}: pass --api-key or set {ENV_API_KEY} "
            f"(or point --base-url / {ENV_BASE_URL} at a local server)"
        )

    @classmethod
    def unknown_choice(cls, flag: str, value: object, choices: tuple[str, ...] | list[str]) -> ConfigError:
        return cls(f"unknown {flag} {value!r}: use one of {', '.join(choices)}")

    @classmethod
    def output_in_use(cls, out: object) -> ConfigError:
        return cls(f"another spatialclaw eval is writing to {out}; wait for it or choose another --out")

    @classmethod
    def output_has_results(cls, out: object) -> ConfigError:
        return cls(f"{out} already holds results; pass --resume to continue that run, or choose another --out")

    @classmethod
    def resume_changed(cls, out: object, was: str) -> ConfigError:
        return cls(f"--resume with other settings: the run in {out} used {was}; pass the same flags or choose another --out")

    @classmethod
    def too_few_workers(cls, workers: int) -> ConfigError:
        return cls(f"--workers must be at least 1, got {workers}")

    @classmethod
    def ray_unreachable(cls, address: str | None, detail: object) -> ConfigError:
        return cls(f"cannot start or reach Ray at {address or 'a local instance'} ({detail}); check --ray-address")

    @classmethod
    def bwrap_broken(cls, why: str) -> ConfigError:
        return cls(f"--sandbox bwrap, but bubblewrap does not work here ({why}): install it (apt-get install bubblewrap) or use --sandbox auto")

    @classmethod
    def no_free_uid(cls) -> ConfigError:
        return cls("no free uid for the kernel in the sandbox's range: too many sessions are running")

    @classmethod
    def hub_offline(cls, model: str) -> ConfigError:
        return cls(f"HF_HUB_OFFLINE is set, so {model} cannot be downloaded: unset it and rerun")

    @classmethod
    def no_hub_client(cls) -> ConfigError:
        """``huggingface_hub`` is missing for a download (of checkpoints or of a benchmark's dataset)."""
        return cls("downloading needs huggingface_hub: pip install huggingface_hub")

    @classmethod
    def gated_model(cls, model: str, terms: str) -> ConfigError:
        return cls(f"{model} is gated: accept {terms} on https://huggingface.co/{model}, then pass --token or set HF_TOKEN")

    @classmethod
    def model_not_on_hub(cls, model: str) -> ConfigError:
        return cls(f"{model} was not found on the Hub (or is private): check the name, or pass --token")

    @classmethod
    def no_model(cls, served: list[str]) -> ConfigError:
        listed = f" (the server lists: {', '.join(served[:8])})" if served else ""
        return cls(f"no model given: pass --model or set {ENV_MODEL}{listed}")

    # --- the CLI's arguments and flags

    @classmethod
    def flag_as_input(cls, word: str) -> ConfigError:
        return cls(f"{word!r} is not an input: flags such as --json take no value (write --json alone)")

    @classmethod
    def input_before_more(cls, no_input: str) -> ConfigError:
        return cls(f"--input adds inputs after INPUT: give INPUT first instead of `{no_input}`")

    @classmethod
    def bad_perception_flag(cls, err: object) -> ConfigError:
        return cls(f"--perception: {err}")

    @classmethod
    def unreadable_cell_file(cls, path: object, strerror: object) -> ConfigError:
        return cls(f"cannot read cell file {path}: {strerror}; pass an existing Python file to --file")

    @classmethod
    def no_cells(cls) -> ConfigError:
        return cls("no cells to run: give code with -c CODE or a file with --file cell.py")

    @classmethod
    def exec_no_model(cls, method: str) -> ConfigError:
        """``spatialclaw exec`` ran a cell that calls the VLM (``method``: ``ask_vlm``, ``locate``) without one."""
        return cls(
            f"spatialclaw exec was given no model for {method}: pass --model and --base-url (as for `spatialclaw ask`) "
            "or set SPATIALCLAW_MODEL / OPENAI_BASE_URL"
        )

    @classmethod
    def port_in_use(cls, port: int, strerror: object) -> ConfigError:
        return cls(f"cannot serve on 127.0.0.1:{port} ({strerror}): pick another --port")

    @classmethod
    def nothing_to_pull(cls) -> ConfigError:
        return cls("name the checkpoints to fetch (see `spatialclaw models list`) or pass --default")

    # --- the default local model (`spatialclaw.models.local_default`)

    @classmethod
    def default_model_offline(cls, model: str, cache: object) -> ConfigError:
        return cls(
            f"no model endpoint configured and HF_HUB_OFFLINE is set, but the default local model {model} "
            f"is not in the Hugging Face cache ({cache}): unset HF_HUB_OFFLINE to download it once, or {CHOOSE_ANOTHER_MODEL_TEXT}"
        )

    @classmethod
    def default_model_download_failed(cls, model: str, detail: str) -> ConfigError:
        return cls(f"could not download the default local model {model} ({detail}): {CHOOSE_ANOTHER_MODEL_TEXT}")

    # --- the perception service

    @classmethod
    def no_service(cls, socket: object) -> ConfigError:
        return cls(f"no perception service answers at {socket}: start one with `spatialclaw perception serve`")

    @classmethod
    def service_folder(cls, folder: object, strerror: object) -> ConfigError:
        return cls(f"cannot make the perception service folder {folder}: {strerror}")

    @classmethod
    def service_folder_not_private(cls, path: object, owner: int, mode: int) -> ConfigError:
        return cls(
            f"{path} is not a private folder of yours (owner {owner}, mode {mode:o}): `chmod 700` it if it is yours, "
            "else put the socket in another folder"
        )

    @classmethod
    def no_app_name(cls) -> ConfigError:
        return cls("--perception-service ray:APP needs the Ray Serve application's name, e.g. ray:perception")

    @classmethod
    def no_ray_serve(cls) -> ConfigError:
        return cls("--ray needs Ray Serve: pip install -e '.[ray-serve]'")

    # --- synthetic benchmarks (`spatialclaw synth`)

    @classmethod
    def bad_moving(cls, moving: int) -> ConfigError:
        return cls(f"--moving must be 0 or more objects per room, got {moving}")

    @classmethod
    def too_small_synth(cls, scenes: int, frames: int) -> ConfigError:
        return cls(f"need at least 1 scene and 2 frames per scene, got --scenes {scenes} --frames {frames}")

    @classmethod
    def bad_image_size(cls, width: int, height: int) -> ConfigError:
        return cls(f"image size {width}x{height} must be even and at least 16x16 (H.264 uses 4:2:0 chroma)")

    # --- evaluation and benchmarks

    @classmethod
    def eval_needs_one_source(cls) -> ConfigError:
        return cls("give either a questions file or --benchmark NAME, not both and not neither")

    @classmethod
    def ray_missing(cls) -> ConfigError:
        return cls("--executor ray needs Ray: pip install 'spatialclaw[ray]'")

    @classmethod
    def ray_address_without_ray(cls) -> ConfigError:
        return cls("--ray-address needs --executor ray")

    @classmethod
    def predictions_need_benchmark(cls) -> ConfigError:
        return cls("--predictions needs --benchmark NAME: the benchmark's rules score them")

    @classmethod
    def predictions_out_has_results(cls, out: object) -> ConfigError:
        return cls(f"{out} already holds results; choose another --out")

    @classmethod
    def benchmark_not_supported(cls, name: str, hf_id: str, missing: str) -> ConfigError:
        return cls(f"benchmark {name!r} ({hf_id}) is not supported yet: {missing}")

    @classmethod
    def unknown_benchmark(cls, name: str, names: list[str]) -> ConfigError:
        return cls(f"unknown benchmark {name!r}: choose one of {', '.join(names)} (spatialclaw benchmarks lists them)")

    @classmethod
    def gated_dataset(cls, hf_id: str) -> ConfigError:
        return cls(f"{hf_id} is gated: accept its terms on https://huggingface.co/datasets/{hf_id}, then pass --token or set HF_TOKEN")

    @classmethod
    def dataset_not_on_hub(cls, hf_id: str) -> ConfigError:
        return cls(f"{hf_id} was not found on the Hub (or is private): check the name, or pass --token with access")


class ModelError(SpatialClawError):
    """The VLM endpoint is unreachable, refused the request, or the model is unknown.

    ``where`` in the constructors names the endpoint, e.g. ``"the VLM server at http://host/v1"``.
    """

    @classmethod
    def bad_key(cls, where: str) -> ModelError:
        return cls(f"{where} refused the API key (HTTP 401): check --api-key / {ENV_API_KEY}")

    @classmethod
    def forbidden(cls, where: str, model: str) -> ModelError:
        return cls(f"{where} denied access to model '{model}' (HTTP 403): check that --api-key / {ENV_API_KEY} may use it")

    @classmethod
    def unknown_model(cls, where: str, model: str) -> ModelError:
        return cls(
            f"{where} has no model '{model}' or no chat-completions route (HTTP 404): check --model / "
            f"{ENV_MODEL} (the exact served name) and --base-url / {ENV_BASE_URL} (it usually ends in /v1)"
        )

    @classmethod
    def timed_out(cls, where: str, timeout_s: float, attempts: int) -> ModelError:
        return cls(
            f"{where} did not answer within {timeout_s:g} s ({attempts} attempts): check that it is up "
            "and not overloaded, or raise the request timeout"
        )

    @classmethod
    def check_timed_out(cls, where: str, timeout_s: float) -> ModelError:
        return cls(f"{where} did not answer within {timeout_s:g} s: check that it is up and --base-url / {ENV_BASE_URL}")

    @classmethod
    def not_running(cls, where: str, cause: str) -> ModelError:
        return cls(f"cannot reach {where} ({cause}): start it, or fix --base-url / {ENV_BASE_URL}")

    @classmethod
    def unreachable(cls, where: str, attempts: int) -> ModelError:
        return cls(f"cannot reach {where} ({attempts} attempts): check that it is running and --base-url / {ENV_BASE_URL}")

    @classmethod
    def http_status(cls, where: str, status: int, server_message: str, *, retried: bool, attempts: int) -> ModelError:
        hint = f"gave up after {attempts} attempts" if retried else "check --model and the request size"
        return cls(f"{where} answered HTTP {status} ({server_message}): {hint}")

    @classmethod
    def failed(cls, where: str, detail: str) -> ModelError:
        return cls(f"{where} failed: {' '.join(detail.split())}")

    @classmethod
    def local_model(cls, path_or_id: str, is_folder: bool, detail: str) -> ModelError:
        where = "folder" if is_folder else "model id"
        return cls(
            f"cannot load the local model {where} '{path_or_id}' ({' '.join(detail.split())[:160]}): pass --model "
            "hf:PATH to a transformers image-text-to-text checkpoint (config, weights, processor with a chat template)"
        )

    @classmethod
    def closed(cls, model: str) -> ModelError:
        return cls(f"the local model {model} was closed (its weights released): make a new client to ask it again")


class KernelError(SpatialClawError):
    """The IPython kernel could not be started or keeps dying."""

    exit_code = 3

    @classmethod
    def did_not_start(cls, err: object, hint: str) -> KernelError:
        return cls(f"the IPython kernel did not start ({err}); {hint}")

    @classmethod
    def died_preloading(cls, cause: str) -> KernelError:
        return cls(f"the IPython kernel died while loading the input and primitives ({cause})")

    @classmethod
    def preload_failed(cls, ename: str, evalue: str, where: str) -> KernelError:
        return cls(f"the kernel could not preload the input and primitives: {ename}: {evalue}{where}")

    @classmethod
    def not_started(cls) -> KernelError:
        return cls("the kernel session is not started: use `with KernelSession(...) as s:` or call start()")


class PerceptionError(SpatialClawError):
    """A perception backend cannot run (missing weights, too few frames registered, ...).

    Raised in the kernel, where the model sees the one line (no traceback): the texts say what
    to try (other frames, another ``--perception`` backend, another input).
    """

    refusal_kind = "perception"

    # --- choosing a backend

    @classmethod
    def unknown_perception(cls, perception: str, allowed: tuple[str, ...]) -> PerceptionError:
        return cls(f"unknown perception {perception!r}: use one of {', '.join(allowed)}")

    @classmethod
    def bad_setting(cls, part: str, families: tuple[str, ...], allowed: tuple[str, ...]) -> PerceptionError:
        return cls(f"bad perception setting {part!r}: write family=backend with family in {families} and backend in {allowed}")

    @classmethod
    def cannot_serve(cls, want: str, family: str, reason: str, way_out: str) -> PerceptionError:
        return cls(f"--perception {want} cannot serve {family}: {reason}; {way_out}")

    @classmethod
    def unknown_family(cls, family: str, families: tuple[str, ...]) -> PerceptionError:
        return cls(f"unknown perception family {family!r}: use one of {', '.join(families)}")

    @classmethod
    def no_backend(cls, family: str, reasons: str, way_out: str) -> PerceptionError:
        return cls(f"no {family} backend can run on this input ({reasons}); {way_out}")

    @classmethod
    def backend_failed(cls, name: str, err: BaseException) -> PerceptionError:
        detail = " ".join(str(err).split())[:200] or "no message"
        return cls(
            f"the {name} reconstruction backend failed unexpectedly ({type(err).__name__}: {detail}); "
            "try other frames, an RGB-D input, or another --perception backend"
        )

    # --- ground truth

    @classmethod
    def gt_needs_rgbd(cls, kind: str) -> PerceptionError:
        return cls(f"ground-truth perception needs an RGB-D folder input, the input is {kind!r}")

    @classmethod
    def no_valid_pose(cls, root: object) -> PerceptionError:
        return cls(f"{root} has no valid pose among the selected frames: the RGB-D export lost tracking")

    # --- classical

    @classmethod
    def bad_camera_height(cls, value: object) -> PerceptionError:
        return cls(f"camera_height must be a positive number of metres, got {value!r}")

    @classmethod
    def bad_sfm_effort(cls, value: object, allowed: tuple[str, ...]) -> PerceptionError:
        return cls(f"sfm_effort must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}")

    @classmethod
    def too_few_frames(cls, needed: int, got: int) -> PerceptionError:
        return cls(f"classical reconstruction needs at least {needed} frames of a moving camera, got {got}: pass more frames")

    @classmethod
    def mixed_frame_sizes(cls) -> PerceptionError:
        return cls("classical reconstruction needs frames of one size: pass frames of one video")

    @classmethod
    def needs_reconstruction(cls) -> PerceptionError:
        return cls("classical segmentation needs the kernel's reconstruction: install the primitives first")

    @classmethod
    def needs_pointing(cls) -> PerceptionError:
        return cls("classical segmentation needs a VLM to point at objects: run with a model (host handlers)")

    @classmethod
    def refused(cls, why: str) -> PerceptionError:
        """A quality gate of the classical pipeline refused the input; ``why`` says what it found."""
        return cls(f"classical reconstruction refused: {why}")

    @classmethod
    def nothing_in_front(cls) -> PerceptionError:
        return cls.refused(
            "no 3D point lies in front of the registered cameras: give more frames of a camera moving through the scene, or an RGB-D input"
        )

    @classmethod
    def sfm_too_few_frames(cls, got: int) -> PerceptionError:
        return cls(f"structure-from-motion needs at least 2 frames, got {got}: sample more frames")

    @classmethod
    def sfm_mixed_sizes(cls, shapes: object) -> PerceptionError:
        return cls(f"structure-from-motion needs frames of one size, got {shapes}: resample the input")

    @classmethod
    def matcher_keypoint_count(cls, got: int, frames: int) -> PerceptionError:
        return cls(f"the matcher returned keypoints for {got} of {frames} frames")

    @classmethod
    def matcher_keypoint_shape(cls, shape: tuple[int, ...]) -> PerceptionError:
        return cls(f"the matcher returned keypoints of shape {shape} (want (K, 2) finite pixels)")

    @classmethod
    def too_few_registered(cls, registered: int, frames: int) -> PerceptionError:
        return cls(
            f"only {registered} of {frames} frames could be registered by structure-from-motion: "
            "sample more frames (or more densely), or the camera barely moved / the views share too little texture"
        )

    @classmethod
    def too_few_registered_of_video(cls, registered: int, frames: int, sampled: int) -> PerceptionError:
        return cls(
            f"only {registered} of {frames} frames could be registered by structure-from-motion "
            f"(from {sampled} frames of the video): the camera barely moved or the views share too little texture"
        )

    @classmethod
    def no_up(cls) -> PerceptionError:
        return cls("cannot tell which way is up (cameras point every way): use a video from an upright camera")

    @classmethod
    def no_floor_below(cls) -> PerceptionError:
        return cls("the scene's points are not below the cameras, so the floor cannot be placed: "
                   "include frames that show the floor, or use an RGB-D input")

    # --- learned

    @classmethod
    def unreadable_config(cls, folder: object, err: object) -> PerceptionError:
        return cls(f"unreadable config.json in {folder} ({err}): re-download the model")

    @classmethod
    def da3_missing(cls) -> PerceptionError:
        return cls("Depth Anything 3 needs its package beside a torchvision that matches torch: "
                   "pip install --no-deps depth-anything-3==0.1.1, then pip install 'spatialclaw[da3]' (see the README)")

    @classmethod
    def da3_frame_sizes(cls) -> PerceptionError:
        return cls("Depth Anything 3 needs frames of one size: pass frames of one video")

    @classmethod
    def unknown_dtype(cls, dtype: object) -> PerceptionError:
        return cls(f"unknown dtype {dtype!r}: use float32, float16 or bfloat16")

    @classmethod
    def unknown_task(cls, task: object, tasks: object) -> PerceptionError:
        return cls(f"unknown perception task {task!r}: use one of {', '.join(tasks)}")  # type: ignore[call-overload]

    @classmethod
    def wrong_adapter(cls, model: object, model_type: str, adapter: str, loads: str, task_words: str) -> PerceptionError:
        return cls(f"{model} is a {model_type!r} model; {adapter} loads {loads}: pass a matching {task_words} model")

    @classmethod
    def unknown_model_type(cls, model: object, model_type: str, task_words: str, known: str) -> PerceptionError:
        return cls(f"{model} is a {model_type!r} model, not a {task_words} model this backend knows ({known}): pass one of those")

    @classmethod
    def lightglue_too_old(cls, model: object) -> PerceptionError:
        return cls(
            f"the installed transformers' LightGlue has no pair matching step (_match_image_pair): "
            f"pip install 'transformers>=5,<6' to use {model}"
        )

    @classmethod
    def not_detector_and_segmenter(cls, detector: object, segmenter: object) -> PerceptionError:
        return cls(f"segment_with_text needs a detector and a segmenter, got {detector!r} and {segmenter!r}")

    @classmethod
    def no_floor_in_image(cls) -> PerceptionError:
        return cls("nothing in this image lies below the camera, so the floor cannot be placed: use an image that shows the floor")

    @classmethod
    def missing_weights(cls, model: object, task_words: str, *, is_folder: bool, hub_cache: object) -> PerceptionError:
        if is_folder:
            return cls(f"no {task_words} model at {model}: the folder needs config.json and model.safetensors (a transformers save_pretrained folder)")
        return cls(f"{task_words} model {model} is not in the local Hugging Face cache ({hub_cache}): run `hf download {model}` or pass a local model folder")

    @classmethod
    def relative_depth_only(cls) -> PerceptionError:
        return cls(
            "one image has no camera motion and the depth model on this machine is relative (no metres), so "
            "nothing 3D can be measured: install a metric depth checkpoint (`spatialclaw models list`)"
        )

    @classmethod
    def nothing_in_view(cls) -> PerceptionError:
        return cls("the depth model sees nothing in front of the camera in this image")


# Optional modules and the extra that installs each (pyproject.toml's optional-dependencies).
EXTRA_OF_MODULE = {"torch": "learned", "transformers": "learned", "tokenizers": "learned", "ray": "ray"}


def missing_extra(err: ImportError, what: str) -> ConfigError | None:
    """The one-line message for ``what`` failing on a missing optional module, or None when the
    module is not one an extra installs (then the error is a bug, not the user's setup)."""
    module = (getattr(err, "name", None) or "").split(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return ConfigError(f"{what} needs {module}, which is not installed: pip install 'spatialclaw[{extra}]'")


# ----------------------------------------------------------------------------- sandbox warnings
# What the host logs, once per process, when it cannot isolate the kernel fully.

FALLBACK_WARNING = (
    "the kernel is NOT ISOLATED ({why}): model-written code can read every file {who} can read "
    "and reach the network{net}; only its uid, resource limits and process cleanup hold it. Install "
    "bubblewrap (apt-get install bubblewrap), or pass --sandbox none to accept this without the warning"
)

ROOT_KERNEL_WARNING = (
    "the kernel runs as ROOT (without capabilities{view}): without bubblewrap "
    "it cannot drop to an unprivileged uid, because {path} is not readable by other users; install "
    "bubblewrap, or keep the Python environment and the working folder where other users can read them"
)
NO_SECCOMP_WARNING = (
    "user namespaces are NOT blocked by seccomp on the {abi} system call ABI (the filter knows "
    "x86_64 and aarch64 only); the kernel still has no capabilities"
)


# ----------------------------------------------------------------------------- kernel observations
# What the host tells the model about its cell (in the cell's observation), as templates.

TIMEOUT_TEXT = "The cell ran longer than {timeout:g} s and was interrupted; variables set before that are kept."
DIED_TEXT = (
    "The kernel died {when} ({cause}) and was restarted: all variables are gone. "
    "frames, question, options and the preloaded functions are loaded again."
)
NOT_RESTARTED_TEXT = "The kernel died {when} ({cause}) and could not be restarted yet ({why}); the next cell tries again."
STUCK_CAUSE = "it ignored the interrupt after the time limit, so it was killed"
MEMORY_CAUSE = "the kernel and its child processes together passed the memory limit of {mb} MiB"
DISK_CAUSE = "its working folder and cache passed the disk budget of {mb} MiB, so it was stopped and its files removed"
LOST_IDLE_TEXT = ("the kernel's outputs stopped without its 'idle' message (too many messages at once, or one "
                  "too big): some outputs of this cell may be lost")
BUDGET_TEXT = "{n} image(s) refused: the session's image budget of {budget} images / {mb} MiB is spent"
CUT_MARKER = "\n[... {n} characters cut ...]\n"
MALFORMED_TEXT = "the kernel sent a malformed {kind} message ({why}); it was ignored"
IMAGE_REFUSED_TEXT = "an image was refused: {why}"
SERVICE_FALLBACK_TEXT = (
    "perception service unavailable ({why}); computing {family} in this kernel (not shared with later sessions)"
)
UNSHOWN_TEXT = "an output of type {types} was not shown: only text/plain, image/png and image/jpeg come back"
NO_HANDLER_TEXT = "no VLM configured for host_call({method!r}): start the session with host_handlers={{{method!r}: ...}}"
HANDLER_FAILED_TEXT = "host_call({method!r}) failed on the host: {error}"
BAD_HOST_CALL_TEXT = "host_call request is malformed ({why}): it needs a JSON object {{\"method\": str, \"payload\": object}}"
INPUT_DISABLED_TEXT = (
    "input() is disabled in this kernel: no one is there to type. "
    "Work from `frames`, `question`, `options` and the preloaded functions instead."
)


# ----------------------------------------------------------------------------- perception: what to do instead
# The second half of a PerceptionError about the choice of backend (`PerceptionError.cannot_serve`,
# `PerceptionError.no_backend`): never the setting that just failed.

NO_3D_INPUT_TEXT = "give an RGB-D folder (ground truth) or a video of one moving camera"


def use_backend_text(family: str, backend: str, *, refused: bool) -> str:
    """Use another backend that can serve ``family`` here (per family when one was refused)."""
    return f"use --perception {family}={backend}" if refused else f"use --perception {backend}"


def no_motion_text(family: str, frames: int) -> str:
    """What ``frames`` images (too few for camera motion, no weights for ``family``) still allow."""
    images = "one image" if frames == 1 else f"{frames} images"
    if family == "segmentation":
        return f"segment() on {images} needs the learned backend's weights; without them 2D work still runs (frames, show, ask_vlm, locate)"
    monocular = (
        "with a metric depth checkpoint on this machine (spatialclaw models pull) the learned backend measures one image "
        "in metres by monocular depth; " if frames == 1 else ""
    )
    return (
        f"{images} {'has' if frames == 1 else 'have'} no camera motion, so nothing 3D (reconstruct, objects3d, distance, maps) "
        f"can run on {'it' if frames == 1 else 'them'} without learned weights; {monocular}"
        "2D work can run (frames, show, ask_vlm, locate); for 3D from camera motion give a video or an RGB-D folder"
    )


# ----------------------------------------------------------------------------- evaluation

EVAL_ALL_FAILED_TEXT = " (the first {count} questions all failed; fix this and rerun with --resume)"
WORKER_DIED_TEXT = "the worker process died while running this question"

# What to do about a file of rows that does not parse (the ``fix`` of `InputError.not_json` and its
# kin, as `spatialclaw.eval.table_files.RowFiles` passes it): a question file the user wrote, or a
# benchmark's released file.
QUESTION_FILE_FIX = "give a VSI-Bench .parquet, .jsonl or .json file"
QUESTION_JSON_FIX = "fix the file"
RECORD_LINE_FIX = "each line must be one record"
DOWNLOAD_AGAIN_FIX = "download it again"


# ----------------------------------------------------------------------------- the CLI, interrupted
# What a command stopped by Ctrl-C (exit 130) says on stderr about what it kept.

INTERRUPTED_TEXT = "interrupted"
INTERRUPTED_ASK_TEXT = "interrupted: the trajectory so far is in {out} (spatialclaw view {out})"
INTERRUPTED_ASK_UNSAVED_TEXT = "interrupted: nothing was saved"
INTERRUPTED_EVAL_TEXT = (
    "interrupted: finished questions are saved in {results}; rerun the same command with --resume to go on from there"
)


# ----------------------------------------------------------------------------- library errors


def _os_error(err: OSError) -> str:
    where = f" {err.filename}" if err.filename else ""
    if err.errno == errno.ENOSPC:
        return f"no space left on the device{where}: free some space, or point --out / SPATIALCLAW_CACHE elsewhere"
    if isinstance(err, PermissionError):
        return f"permission denied{where.rstrip()}: check the folder's permissions, or choose another --out / SPATIALCLAW_CACHE"
    if isinstance(err, FileNotFoundError):
        return f"not found:{where}: check the path"
    return f"{err.strerror or err}{where}: check the disk and the path"


def _missing_module(err: ImportError) -> str | None:
    known = missing_extra(err, "this command")
    return None if known is None else str(known)


def _memory(err: MemoryError) -> str:
    return "out of memory: use fewer frames (--frames), a smaller model, or a machine with more memory"


# Most specific first: the first row whose type matches gives the line.
REFUSAL_KINDS: dict[str, type[SpatialClawError]] = {
    cls.refusal_kind: cls for cls in (InputError, ConfigError, PerceptionError) if cls.refusal_kind
}
MAX_REFUSAL_CHARS = 2000


def refusal_from_report(refused: object) -> SpatialClawError | None:
    """The error a kernel's set-up report describes as ``{"kind": ..., "message": ...}``, or None.

    The kernel refuses to preload with a one-line message about the input, a setting or the
    perception backend; the report is untrusted, so only the kinds of `REFUSAL_KINDS` and a
    string message (whitespace folded, cut to `MAX_REFUSAL_CHARS`) make an error.

    >>> refusal_from_report({"kind": "input", "message": "clip.mp4 has no frames"})
    InputError('clip.mp4 has no frames')
    >>> refusal_from_report({"kind": "SystemExit", "message": "x"}) is None
    True
    """
    if not isinstance(refused, dict):
        return None
    cls = REFUSAL_KINDS.get(refused.get("kind")) if isinstance(refused.get("kind"), str) else None
    message = refused.get("message")
    if cls is None or not isinstance(message, str) or not message.strip():
        return None
    return cls(" ".join(message.split())[:MAX_REFUSAL_CHARS])


LIBRARY_ERRORS: tuple[tuple[type[BaseException], Callable[[Any], str | None]], ...] = (
    (ImportError, _missing_module),
    (MemoryError, _memory),
    (OSError, _os_error),
)


def library_error_message(err: BaseException) -> str | None:
    """The one-line message for an exception a library raised past our code, or None when it is
    not one of `LIBRARY_ERRORS` (a bug: the traceback is the right report; so is a missing module
    that no extra installs).

    >>> library_error_message(PermissionError(13, "Permission denied", "/runs"))
    "permission denied /runs: check the folder's permissions, or choose another --out / SPATIALCLAW_CACHE"
    >>> library_error_message(ValueError("a bug")) is None
    True
    """
    for kind, message in LIBRARY_ERRORS:
        if isinstance(err, kind):
            return message(err)
    return None
