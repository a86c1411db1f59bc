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


def test_convolutions_and_recurrent_layers_keep_every_thread():
    from torch import nn

    from layerwise.models import build
    from layerwise.training.threads import is_dense

    assert is_dense(build({"type": "mlp", "hidden": [16]}, (4,), 1))
    assert not is_dense(build({"type": "lstm", "hidden": [8]}, (5, 3), 1))
    assert not is_dense(build({"type": "cnn2d", "channels": [4]}, (1, 8, 8), 3))
    assert not is_dense(nn.Sequential(nn.Embedding(10, 4)))
    assert choose_threads("auto", CPU, n_params=15_000, batch_size=32, dense=False) is None


def test_busy_cpus_of_data_loading_workers_are_left_to_them_under_auto_only():
    cores = torch.get_num_threads()
    assert choose_threads("auto", CPU, n_params=206_081, batch_size=32, busy=1) == max(1, cores - 1)
    assert choose_threads("auto", CPU, n_params=206_081, batch_size=32, busy=cores + 4) == 1  # one thread kept
    assert choose_threads("auto", CPU, n_params=15_000, batch_size=32, busy=1) == 1  # never above auto's choice
    assert choose_threads(3, CPU, n_params=100, batch_size=1, busy=2) == 3  # an explicit count is the user's
    assert choose_threads("auto", torch.device("cuda"), n_params=100, batch_size=1, busy=2) is None
