"""
Nothing a mode creates outlives it: after a training run, a memory-only measurement or a gradient probe returns, none of
its modules, parameters, optimizer state or activations is alive, and each is gone before the next mode starts.

On CUDA a tensor kept alive is memory kept allocated, and what Python's gc could reclaim it reclaims on its own
schedule, or, for a cycle through autograd's C++ graph, never: one mode's leftovers then counted in every later
mode's peak (a GPU run's peaks grew by about a step's activations a mode, and a --memory-only run of llama-130m ran
out of memory at its fifth mode). These tests see the same on the CPU through weak references, with the gc switched
off while the code under test runs, so that whatever it leaves must be freed by reference counting alone, as the
device's memory needs.
"""

import contextlib
import gc
import unittest
import unittest.mock
import weakref

import torch

import corpus
import modes
import training
from model import ModelConfig
from tests.test_model import cuda_skip_reason

try:
    from torch._subclasses.fake_tensor import FakeTensor  # torch.compile's: shapes without memory
except ImportError:
    FakeTensor = ()

SMALL = ModelConfig(vocab_size=256, d_model=32, n_layers=2, n_heads=4, d_ff=48, context=16)
CONFIG = modes.TrainConfig(d_model=32, n_layers=2, n_heads=4, d_ff=48, context=16, tokens_per_step=128, lr=1e-3)
KINDS = ("dense", "pamm", "crs", "checkpoint", "pamm-all")



@contextlib.contextmanager
def alive_at_each_call(tracked, name):
    """Patches training.<name> to note, at each call, what `tracked` still holds alive; yields the list of those notes."""
    seen, original = [], getattr(training, name)

    def noting(*arguments):
        seen.append(tracked.alive())
        return original(*arguments)

    with unittest.mock.patch.object(training, name, noting):
        yield seen

class Tracked:
    """
    Weak references to everything a forward pass touches while installed: each module that runs, its parameters and
    buffers, and the tensors it returns (activations, and through them what autograd's graph holds alive).
    """

    def __init__(self):
        self.refs = {}  # id -> (label, weak reference)

    def add(self, label, thing):
        known = self.refs.get(id(thing))
        if known is None or known[1]() is None:
            self.refs[id(thing)] = (label, weakref.ref(thing))

    def _hook(self, module, arguments, outputs):
        name = type(module).__name__
        self.add(f"module {name}", module)
        for kind, tensors in (("parameter", module.parameters(recurse=False)), ("buffer", module.buffers(recurse=False))):
            for tensor in tensors:
                self.add(f"{kind} of {name} {tuple(tensor.shape)}", tensor)
        for tensor in outputs if isinstance(outputs, (tuple, list)) else (outputs,):
            if isinstance(tensor, torch.Tensor):
                self.add(f"output of {name} {tuple(tensor.shape)}", tensor)

    @contextlib.contextmanager
    def installed(self):
        handle = torch.nn.modules.module.register_module_forward_hook(self._hook)
        try:
            yield self
        finally:
            handle.remove()

    def alive(self):
        return sorted(label for label, ref in self.refs.values() if ref() is not None)


@contextlib.contextmanager
def gc_off():
    """No collection of cycles meanwhile: what the code leaves must go by reference counting, as CUDA memory needs."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def live_tensor_bytes():
    """
    The bytes of every distinct storage of the tensors Python's gc sees now (every tensor a Python object holds:
    optimizer state, records, torch's own caches...). torch.compile's fake tensors and meta tensors hold no memory.
    """
    storages = {}
    for thing in gc.get_objects():
        # type(): an object's __class__ may run code (torch.distributed's deprecated reduce_op warns)
        if issubclass(type(thing), torch.Tensor) and not isinstance(thing, FakeTensor) and thing.device.type != "meta":
            try:
                storage = thing.untyped_storage() if hasattr(thing, "untyped_storage") else thing.storage()
                storages[(thing.device, storage.data_ptr())] = storage.nbytes()
            except RuntimeError:  # a wrapper without a storage of its own (torch.compile's FunctionalTensor)
                storages[id(thing)] = thing.numel() * thing.element_size()
    return sum(storages.values())


def inductor_skip_reason():
    """Why torch.compile cannot train here (None where it can): PyTorch < 2.0, or Inductor without a C++ compiler."""
    if not hasattr(torch, "compile"):
        return f"torch.compile needs PyTorch >= 2.0; this is {torch.__version__}"
    try:
        torch.compile(lambda t: t * 2 + 1, fullgraph=True)(torch.ones(4))
    except Exception as error:
        return f"Inductor cannot build code for the CPU here ({type(error).__name__}: {str(error).strip()[:200]})"
    return None


def small_corpus():
    tokens = torch.randint(0, 256, (4000,), generator=torch.Generator().manual_seed(5))
    return corpus.Corpus(train=tokens, val=tokens[:400], vocab_size=256, token_bytes=torch.ones(256), meta={"vocab_size": 256,
                         "tokenizer": "bytes", "train": {}, "val": {}})


def settings(**overrides):
    return training.Settings(config=CONFIG, device=torch.device("cpu"), steps=3, warmup_steps=1, val_tokens=64,
                             log=lambda line: None, **overrides)


def batch_of(sequences):
    tokens = torch.randint(0, 256, (sequences, SMALL.context + 1), generator=torch.Generator().manual_seed(sequences))
    return tokens[:, :-1], tokens[:, 1:]


class ReleaseTest(unittest.TestCase):
    def test_counting_what_a_step_keeps_frees_the_graph(self):
        # memory.kept_bytes builds a step's graph and never runs backward: it must go as soon as the count is taken,
        # with the activations it saved and the parameters its AccumulateGrad nodes hold (the model itself goes last).
        for kind in KINDS:
            for dtype in ("fp32", "bf16"):
                with self.subTest(kind=kind, dtype=dtype):
                    torch.manual_seed(0)
                    model = modes.Mode(kind, k=4).build(SMALL)
                    tracked = Tracked()
                    with gc_off(), tracked.installed():
                        kept = training.step_kept_bytes(model, batch_of(4), settings(dtype=dtype))
                        self.assertGreater(kept.saved, 0)
                        self.assertTrue(any(label.startswith("parameter") for label in tracked.alive()))
                        del model
                        self.assertEqual(tracked.alive(), [])

    def test_measuring_every_mode_frees_each_before_the_next(self):
        # --memory-only: one mode's model and step must be gone before the next mode's model is built, so that each
        # step peak on CUDA is the mode's own and the modes do not add up in memory.
        tracked = Tracked()
        runs = [modes.parse_mode(text) for text in ("dense", "pamm:k=4", "checkpoint", "pamm-all:k=4", "pamm:k=4:alpha=bf16")]
        data = small_corpus()
        with gc_off(), tracked.installed(), alive_at_each_call(tracked, "_training_parts") as alive_when_built:
            before = live_tensor_bytes()
            record = training.kept_by_mode(runs, data, settings())
            self.assertEqual(tracked.alive(), [])
            self.assertEqual(live_tensor_bytes(), before)
        self.assertEqual(alive_when_built, [[]] * len(runs))
        self.assertEqual(len(record["runs"]), len(runs))

    def test_a_training_run_leaves_nothing_alive(self):
        # compare(): every mode's model, optimizer state, last loss, probes' twin and activations go with its run, so the
        # next mode starts from nothing of it, and nothing stays once compare() returns.
        tracked = Tracked()
        runs = [modes.parse_mode(text) for text in ("pamm:k=4", "dense", "checkpoint", "pamm-all:k=4")]
        data = small_corpus()
        with gc_off(), tracked.installed(), alive_at_each_call(tracked, "train_one") as alive_when_started:
            before = live_tensor_bytes()
            record = training.compare(runs, data, settings(probe_steps="1,3"))
            self.assertEqual(tracked.alive(), [])
            self.assertEqual(live_tensor_bytes(), before)
        self.assertEqual(alive_when_started, [[]] * len(runs))
        self.assertEqual([len(run["gradient_probes"]) for run in record["runs"]], [2, 0, 0, 2])

    def test_a_compiled_run_leaves_nothing_alive(self):
        # torch.compile's tracing leaves reference cycles (seen under PyTorch 2.6 on the CPU) that hold real tensors of
        # the mode's shapes, weights and activations, until Python's gc happens to run: the training program collects
        # them before the timed steps and after each mode. Compiling takes a while, so one mode of a tiny model.
        reason = inductor_skip_reason()
        if reason is not None:
            self.skipTest(reason)
        data = small_corpus()
        start, garbage_at_start = training.PeakMemory.start, []

        def start_timing(peak_memory):
            # What the gc could still free when the timed steps begin: on CUDA it would count in their peak.
            held = live_tensor_bytes()
            gc.collect()
            garbage_at_start.append(held - live_tensor_bytes())
            start(peak_memory)

        with gc_off(), unittest.mock.patch.object(training.PeakMemory, "start", start_timing):
            before = live_tensor_bytes()
            record = training.compare([modes.parse_mode("pamm:k=4")], data, settings(compile=True, probe_steps="none"))
            self.assertEqual(live_tensor_bytes(), before)
        self.assertEqual(garbage_at_start, [0])
        self.assertTrue(record["compiled"])

    def test_a_gradient_probe_frees_its_twins_step(self):
        # A probe runs the dense twin forward and backward: when it returns, the twin holds no gradients and none of its
        # step's activations is alive, so the timed steps go on with only what they held before the probe.
        twin_outputs, twin_gradients = [], []
        measure = training.gradient_errors

        def gradient_errors(model, exact_model, *arguments):
            tracked = Tracked()
            with tracked.installed():
                errors = measure(model, exact_model, *arguments)
            twin_outputs.append([label for label in tracked.alive() if label.startswith("output")])
            twin_gradients.append([name for name, p in exact_model.named_parameters() if p.grad is not None])
            return errors

        data = small_corpus()
        with gc_off(), unittest.mock.patch.object(training, "gradient_errors", gradient_errors):
            training.train_one(modes.Mode("pamm", k=4), data, settings(probe_steps="1,2,3", dtype="bf16"),
                               training.initial_state(settings(), 256), 3)
        self.assertEqual(twin_outputs, [[]] * 3)
        self.assertEqual(twin_gradients, [[]] * 3)


@unittest.skipIf(cuda_skip_reason() is not None, cuda_skip_reason())
class CudaReleaseTest(unittest.TestCase):
    def test_runs_hand_back_their_device_memory(self):
        # What the CPU tests see through weak references, on the device: after a run or a measurement of several modes,
        # PyTorch holds no more than before it (the same once first makes the one-time allocations: cuBLAS's workspaces,
        # PAMM's engine). A mode's leftovers would be its parameters and a step's activations (some 100 KiB to 1 MiB
        # here), above the tolerance.
        cuda = torch.device("cuda")
        runs = [modes.parse_mode(text) for text in ("pamm:k=4", "dense", "checkpoint")]
        data = small_corpus()
        cuda_settings = training.Settings(config=CONFIG, device=cuda, dtype="bf16", steps=3, warmup_steps=1, val_tokens=64,
                                          probe_steps="1,3", log=lambda line: None)
        for name, measure in (("compare", training.compare), ("kept_by_mode", training.kept_by_mode)):
            with self.subTest(name):
                measure(runs, data, cuda_settings)
                torch.cuda.synchronize(cuda)
                before = torch.cuda.memory_allocated(cuda)
                measure(runs, data, cuda_settings)
                torch.cuda.synchronize(cuda)
                self.assertLess(abs(torch.cuda.memory_allocated(cuda) - before), 32 * 1024, (name, before))


if __name__ == "__main__":
    unittest.main()
