"""The 2-D CNN on real images: scikit-learn's 8x8 digits, trained from Python with
layerwise.Trainer on a NumPy array (n, 1, 8, 8). benchmarks/digits_cnn.py runs it
longer (>= 98%); here 5 epochs must reach 95% on the same fixed stratified test split."""

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from layerwise import Trainer
from layerwise.models import build


def test_cnn2d_learns_digits_from_a_numpy_image_array():
    data = load_digits()
    images = (data.images / 16.0).astype(np.float32)[:, None]  # (1797, 8, 8) -> (1797, 1, 8, 8)
    x_train, x_test, y_train, y_test = train_test_split(
        images, data.target, test_size=0.2, stratify=data.target, random_state=0
    )
    model = build({"type": "cnn2d"}, x_train.shape[1:], 10, seed=0)
    trainer = Trainer(model, loss="cross_entropy", lr=3e-3, batch_size=64, epochs=5, seed=0)
    trainer.fit(x_train, y_train)
    accuracy = (trainer.predict(x_test).argmax(1).numpy() == y_test).mean()
    assert accuracy >= 0.95, accuracy
