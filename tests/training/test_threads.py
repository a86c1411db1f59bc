import torch

from layerwise.training.threads import choose_threads, thread_count

CPU = torch.device("cpu")


def test_rule_one_thread_for_small_models_default_for_large():
    assert choose_threads("auto", CPU, n_params=15_000, batch_size=32) == 1
    assert choose_threads("auto", CPU, n_params=206_081, batch_size=32) is None
    assert choose_threads("auto", CPU, n_params=60_000, batch_size=1024) is None  # big batch divides well
    assert choose_threads("auto", torch.device("cuda"), n_params=100, batch_size=1) is None
    assert choose_threads(3, CPU, n_params=100, batch_size=1) == 3


def test_thread_count_restores_the_previous_setting():
    before = torch.get_num_threads()
    with thread_count(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
