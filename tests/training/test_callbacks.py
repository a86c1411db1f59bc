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
    trainer = Trainer(
        build({"hidden": [8]}, (4,), 1, seed=0),
        epochs=3,
        device="cpu",
        metric=lambda p, t: 0.5,
        callbacks=[EpochLog(lines.append)],
    )
    trainer.fit(x, y, x, y)
    assert lines[0].startswith("threads: 1 (a small dense model")  # the thread count chosen, and why
    epochs = lines[1:]
    assert len(epochs) == 3
    assert epochs[0].startswith("epoch 1/3 train_loss ") and "val_loss" in epochs[0]
    assert "val_metric 0.5" in epochs[0] and "lr 0.001" in epochs[0] and "seconds" in epochs[0]


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


def test_progress_bar_on_a_terminal_advances_within_an_epoch():
    """One long epoch: the bar shows the batch it is at, not only the epoch count."""
    import io

    from rich.console import Console

    screen = io.StringIO()
    bar = ProgressBar(console=Console(file=screen, force_terminal=True, width=120), redraw=0)
    x, y = data()
    Trainer(build({"hidden": [8]}, (4,), 1), epochs=1, batch_size=8, device="cpu", callbacks=[bar]).fit(x, y)
    drawn = screen.getvalue()
    assert "batch 1/8" in drawn and "batch 5/8" in drawn and "epoch" in drawn


def test_progress_bar_off_a_terminal_writes_one_line_per_epoch_to_stderr(capsys):
    x, y = data()
    Trainer(build({"hidden": [8]}, (4,), 1), epochs=2, device="cpu", quiet=False, metric=lambda p, t: 0.5).fit(
        x, y, x, y
    )
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert captured.out == "" and len(lines) == 2
    assert lines[1].startswith("epoch 2/2 train_loss ") and "val_metric 0.5 lr 0.001 seconds " in lines[1]


def test_history_csv_appends_each_epoch_and_restarts_from_the_trainers_rows(tmp_path):
    from layerwise.training.callbacks import HistoryCSV

    x, y = data()
    path, seen = tmp_path / "history.csv", []

    class Look(HistoryCSV):  # reads the file as each epoch ends, after writing its row
        def on_epoch_end(self, trainer, epoch, logs):
            super().on_epoch_end(trainer, epoch, logs)
            seen.append(path.read_text().splitlines())

    trainer = Trainer(build({"hidden": [8]}, (4,), 1), epochs=2, device="cpu", callbacks=[Look(path)])
    trainer.fit(x, y)
    assert [len(lines) for lines in seen] == [2, 3]
    assert seen[-1][0] == "epoch,train_loss,val_loss,val_metric,lr,seconds"
    assert seen[-1][2].startswith(f"2,{trainer.history[1]['train_loss']!r},,,0.001,")
    trainer.fit(x, y, resume=True)  # a continuation: the file starts again from every row the trainer holds
    assert [line.split(",")[0] for line in path.read_text().splitlines()[1:]] == ["1", "2", "3", "4"]
