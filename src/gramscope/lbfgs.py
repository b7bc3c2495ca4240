"""L-BFGS that never waits for the device: every scalar stays a tensor.

The engine's L-BFGS on every device (CPU included, for the first step below).

``torch.optim.LBFGS`` turns its curvature test, its first step length and each of the
2·m two-loop coefficients into Python numbers, and on a GPU each such number is a
synchronisation that idles the device. This one computes the same search direction
(Nocedal & Wright, *Numerical Optimization*, Alg. 7.4, the two-loop recursion) with no
host round-trip:

* the m most recent pairs (s_i, y_i) live in two fixed (m, n) ring buffers; a pair that
  fails the curvature test yᵀs > 1e-10 is stored with ρ_i = 0, which makes it an exact
  no-op in the recursion (torch's drops it instead: the only difference, and only then);
* the two loops are written as two unit-triangular solves over the m×m matrix of inner
  products s_iᵀy_j, kept up to date with two matrix-vector products a step:

      first loop   α = ρ ⊙ (Sᵀq₀ − U α),             U_ij = s_iᵀy_j (j > i)
                   q = q₀ − Yᵀα,   r₀ = H₀ q
      second loop  β = ρ ⊙ (Yᵀr₀ + L (α − β)),       L_ij = y_iᵀs_j (j < i)
                   d = r₀ + Sᵀ(α − β)

  which is the recursion unrolled (each α_i, β_i depends only on the earlier ones).

Like torch's L-BFGS run with ``max_iter=1``: one iteration per ``step``, no line search,
no update along a direction that does not descend. The first step differs: torch's is
min(1, 1/‖g‖₁)·lr, which shrinks with the number of pixels n; from about 10 million
values (a 2048×1536 image) it moves the pixels by ~1e-7 levels, the gradient's change is
then float32 rounding noise, and the first curvature estimate sends the next step far off
(a 2048-px first scale diverged three times in a row on an H200; on the CPU with torch's
L-BFGS the loss stayed at 1997 for a step and diverged at the next). ``first_step="max"``
(the default) moves the pixel with the largest gradient by lr levels instead,
min(1, 1/‖g‖_∞)·lr, whatever the size (the same 2048-px run: 1997, 2406, 1987, 1981, no
divergence); ``"l1"`` is torch's. The same happens, milder, at every scale of a
multi-scale run: 1024 px has 3 million values, torch's first step is ≈ 0 there, the
second overshot (style part 762 → 2627) and 10 steps left speckle that ``"max"`` does not.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import torch

#: Pairs with yᵀs at or below this are not used (torch's threshold).
CURVATURE_EPS = 1e-10


class DeviceLBFGS:
    """L-BFGS for one tensor parameter, in the interface the engine uses of an optimiser."""

    def __init__(
        self, param: torch.Tensor, *, lr: float = 1.0, history_size: int = 100,
        first_step: Literal["max", "l1"] = "max",
    ) -> None:
        if history_size < 1:
            raise ValueError(f"history_size must be at least 1, not {history_size}")
        self.param, self.lr, self.history_size = param, lr, history_size
        self.first_norm = {"max": float("inf"), "l1": 1.0}[first_step]
        self.n_iter = 0
        self.state: dict[str, Any] = {}

    # -- the optimiser interface -------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        self.param.grad = None

    @torch.no_grad()
    def step(self, closure: Callable[[], torch.Tensor]) -> torch.Tensor:
        with torch.enable_grad():
            loss = closure()
        g = self.param.grad.reshape(-1)  # (n,)
        if self.n_iter == 0:
            self._allocate(g)
            d = g.neg()
            norm = torch.linalg.vector_norm(g, ord=self.first_norm)
            step = torch.clamp(1.0 / norm, max=1.0) * self.lr
        else:
            self._remember(g)
            d = self._direction(g)
            step = torch.full((), self.lr, dtype=g.dtype, device=g.device)
        # No update along a direction that does not descend (torch's break on gᵀd > 0).
        step = torch.where(g.dot(d) > 0, torch.zeros_like(step), step)
        st = self.state
        st["prev_grad"].copy_(g)
        st["d"], st["t"] = d, step
        self.param.add_((d * step).view_as(self.param))
        self.n_iter += 1  # last: a step that failed (out of memory) changed nothing
        return loss

    # -- internals ---------------------------------------------------------------------
    def _allocate(self, g: torch.Tensor) -> None:
        m, n = self.history_size, g.numel()
        like = {"dtype": g.dtype, "device": g.device}
        self.state = {
            "S": torch.zeros(m, n, **like), "Y": torch.zeros(m, n, **like),  # (m, n)
            "SY": torch.zeros(m, m, dtype=torch.float64, device=g.device),  # s_aᵀy_b by slot
            "rho": torch.zeros(m, dtype=torch.float64, device=g.device),
            "H_diag": torch.ones((), dtype=torch.float64, device=g.device),
            "head": 0,  # slot of the oldest pair; the host knows it without asking
            "prev_grad": g.clone(),
        }

    def _remember(self, g: torch.Tensor) -> None:
        st = self.state
        y = g - st["prev_grad"]
        s = st["d"] * st["t"]
        ys = y.dot(s).double()
        accept = ys > CURVATURE_EPS
        slot = st["head"]
        st["S"][slot].copy_(s)
        st["Y"][slot].copy_(y)
        st["rho"][slot] = torch.where(accept, 1.0 / ys, torch.zeros_like(ys))
        st["H_diag"] = torch.where(accept, ys / y.dot(y).double(), st["H_diag"])
        st["SY"][slot, :] = (st["Y"] @ s).double()  # s_newᵀ y_b
        st["SY"][:, slot] = (st["S"] @ y).double()  # s_aᵀ y_new
        st["head"] = (slot + 1) % self.history_size

    def _direction(self, g: torch.Tensor) -> torch.Tensor:
        """The two-loop recursion as two triangular solves. The big buffers stay in slot
        order; only m-vectors and the m×m matrix are permuted (oldest … newest)."""
        st = self.state
        m, S, Y = self.history_size, st["S"], st["Y"]
        slots = torch.arange(m, device=g.device)
        logical = (slots + st["head"]) % m  # logical i → its slot
        physical = (slots - st["head"]) % m  # slot → its logical index
        SY = st["SY"][logical][:, logical]  # (m, m): s_iᵀ y_j
        rho = st["rho"][logical]
        eye = torch.eye(m, dtype=torch.float64, device=g.device)
        q0 = g.neg()
        upper = torch.triu(SY, diagonal=1)  # U_ij = s_iᵀ y_j, j > i
        a = torch.linalg.solve_triangular(
            eye + rho[:, None] * upper, (rho * (S @ q0).double()[logical])[:, None],
            upper=True,
        ).squeeze(1)  # (m,) the first loop's α, oldest first
        r0 = (q0 - a[physical].to(g.dtype) @ Y) * st["H_diag"].to(g.dtype)
        lower = torch.tril(SY.T, diagonal=-1)  # L_ij = y_iᵀ s_j, j < i
        rhs = rho * ((Y @ r0).double()[logical] + lower @ a)
        b = torch.linalg.solve_triangular(
            eye + rho[:, None] * lower, rhs[:, None], upper=False,
        ).squeeze(1)  # (m,) the second loop's β
        return r0 + (a - b)[physical].to(g.dtype) @ S

    # -- checkpoints -------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """A copy on the CPU: the live buffers are updated in place, so a state handed out
        without copying would move on with the run."""
        return {"n_iter": self.n_iter, "lr": self.lr, "history_size": self.history_size,
                "state": {k: v.detach().to("cpu", copy=True) if torch.is_tensor(v) else v
                          for k, v in self.state.items()}}

    def load_state_dict(self, saved: dict[str, Any]) -> None:
        self.n_iter, self.lr = saved["n_iter"], saved["lr"]
        self.history_size = saved["history_size"]
        device = self.param.device
        self.state = {k: v.to(device, copy=True) if torch.is_tensor(v) else v
                      for k, v in saved["state"].items()}  # a copy: the saved state stays
