"""DEC/IDEC loss functions at their edges: the default Student-t degree of freedom, other alphas, a
point on a centre, zero targets in KL, and the IDEC weighting when gamma is 0."""

from __future__ import annotations

import torch

from seglab.models.losses import (
    idec_loss,
    kl_divergence,
    reconstruction_loss,
    soft_assignment,
    target_distribution,
)


def student_t(z: torch.Tensor, centers: torch.Tensor, alpha: float) -> torch.Tensor:
    d2 = torch.cdist(z, centers) ** 2
    q = (1 + d2 / alpha) ** (-(alpha + 1) / 2)
    return q / q.sum(dim=1, keepdim=True)


def test_default_alpha_is_one():
    z = torch.tensor([[0.0, 0.0], [3.0, 1.0]], dtype=torch.float64)
    c = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    torch.testing.assert_close(soft_assignment(z, c), student_t(z, c, 1.0))
    # by hand for the first point: squared distances 1 and 4 -> kernels 1/2 and 1/5
    torch.testing.assert_close(soft_assignment(z, c)[0], torch.tensor([5 / 7, 2 / 7], dtype=torch.float64))


def test_other_alphas_follow_the_formula():
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(20, 3, generator=gen, dtype=torch.float64)
    c = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    for alpha in (0.5, 2.0, 10.0):
        torch.testing.assert_close(soft_assignment(z, c, alpha), student_t(z, c, alpha))


def test_point_on_a_centre_has_a_finite_gradient():
    z = torch.zeros(1, 2, dtype=torch.float64, requires_grad=True)
    c = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)
    q = soft_assignment(z, c)
    q[0, 0].backward()
    assert torch.isfinite(z.grad).all()
    torch.testing.assert_close(q, torch.tensor([[3 / 4, 1 / 4]], dtype=torch.float64))


def test_kl_with_zero_targets_and_identical_distributions():
    q = torch.tensor([[0.5, 0.5], [0.9, 0.1]], dtype=torch.float64)
    assert kl_divergence(q, q).item() == 0.0
    p = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    # rows: log(1/0.5) and log(1/0.1), averaged over the two rows
    expected = (torch.log(torch.tensor(2.0)) + torch.log(torch.tensor(10.0))) / 2
    torch.testing.assert_close(kl_divergence(p, q), expected.double())


def test_target_of_a_certain_assignment_is_itself():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    torch.testing.assert_close(target_distribution(q), q)


def test_idec_loss_weights():
    x = torch.tensor([[1.0, 2.0]])
    x_hat = torch.tensor([[0.0, 0.0]])
    p = torch.tensor([[1.0, 0.0]])
    q = torch.tensor([[0.5, 0.5]])
    assert reconstruction_loss(x_hat, x).item() == 2.5
    torch.testing.assert_close(idec_loss(p, q, x_hat, x, gamma=0.0), torch.tensor(2.5))
    torch.testing.assert_close(idec_loss(p, q, x_hat, x, gamma=2.0), 2.5 + 2 * torch.log(torch.tensor(2.0)))


def test_target_in_chunks_with_the_global_frequency_equals_the_whole():
    """The streaming target update passes each chunk of q with f summed over all rows."""
    gen = torch.Generator().manual_seed(1)
    q = soft_assignment(torch.randn(30, 2, generator=gen, dtype=torch.float64),
                        torch.randn(3, 2, generator=gen, dtype=torch.float64))
    whole = target_distribution(q)
    f = q.sum(dim=0)
    chunks = torch.cat([target_distribution(q[i:i + 7], f) for i in range(0, 30, 7)])
    torch.testing.assert_close(chunks, whole)
    # a chunk's own column sums are not the global frequency
    assert not torch.allclose(target_distribution(q[:7]), whole[:7])
