import torch

from layerwise.models import build
from layerwise.training import EarlyStopping, EpochLog, ProgressBar, Trainer


def data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    return x, x.sum(1, keepdim=True)


def test_epoch_log_writes_one_line_per_epoch():
    lines = []
    x, y = data()
    trainer = Trainer(build({"hidden": [8]}, (4,), 1, seed=0), epochs=3, device="cpu",
                      metric=lambda p, t: 0.5, callbacks=[EpochLog(lines.append)])
    trainer.fit(x, y, x, y)
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3 train_loss ") and "val_loss" in lines[0]
    assert "val_metric 0.5" in lines[0] and "lr 0.001" in lines[0] and "seconds" in lines[0]


def test_progress_bar_is_silent_off_a_terminal(capsys):
    x, y = data()
    Trainer(build({"hidden": [8]}, (4,), 1), epochs=2, device="cpu", quiet=False).fit(x, y, x, y)
    Trainer(build({"hidden": [8]}, (4,), 1), epochs=2, device="cpu", callbacks=[ProgressBar()]).fit(x, y)
    assert capsys.readouterr().out == ""


def test_early_stopping_ignores_a_fit_without_validation():
    x, y = data()
    stopper = EarlyStopping(patience=1)
    trainer = Trainer(build({"hidden": [8]}, (4,), 1), epochs=3, device="cpu", callbacks=[stopper])
    assert len(trainer.fit(x, y)) == 3
    assert stopper.best_state is None and trainer.best_epoch is None and not trainer.stop
