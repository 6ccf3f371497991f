"""DistributedDataParallel: two gloo processes on CPU hold identical masks and match one process."""

from __future__ import annotations

import os

import pytest

torch = pytest.importorskip("torch")
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch import nn  # noqa: E402

STEPS = 12
RECIPE = "srste"


def make_model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 8))


def global_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    return torch.randn(8, 16, generator=g), torch.randn(8, 8, generator=g)


def run(model: nn.Module, shard: slice, ddp: nn.Module | None = None) -> dict:
    from nmsim.train import Sparsifier

    net = ddp or model
    sp = Sparsifier(net, RECIPE, STEPS, nm="1:8", targets="all")
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    for step in range(STEPS):
        x, y = global_batch(step)
        nn.functional.mse_loss(net(x[shard]), y[shard]).backward()
        opt.step()
        opt.zero_grad()
        sp.step()
    return {"masks": sp.masks, "weights": {k: v.detach().clone() for k, v in model.state_dict().items()}}


def worker(rank: int, world: int, init_file: str, out_dir: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    model = make_model()
    ddp = nn.parallel.DistributedDataParallel(model)
    half = 8 // world
    result = run(model, slice(rank * half, (rank + 1) * half), ddp)
    torch.save(result, os.path.join(out_dir, f"rank{rank}.pt"))
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed not built")
def test_ddp_two_gloo_ranks_match_single_process(tmp_path):
    init_file = str(tmp_path / "init")
    mp.spawn(worker, args=(2, init_file, str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt")
    r1 = torch.load(tmp_path / "rank1.pt")
    single = run(make_model(), slice(0, 8))
    assert r0["masks"].keys() == single["masks"].keys() == {"0", "2"}
    for name in single["masks"]:
        assert torch.equal(r0["masks"][name], r1["masks"][name])
        assert torch.equal(r0["masks"][name], single["masks"][name])
    for name in single["weights"]:
        assert torch.equal(r0["weights"][name], r1["weights"][name])
        assert torch.allclose(r0["weights"][name], single["weights"][name], atol=1e-6)
