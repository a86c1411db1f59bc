"""The built-in blocks, the bodies a config names with `model.type`; importing this
module registers them.

Each block ends in a plain Linear `head` of width `output_dim` and returns raw
scores (regression values, logits): losses apply sigmoid/softmax themselves, and
so does whoever turns logits into probabilities.

    mlp          rows (features,) or windows, flattened     mlp.py
    cnn1d        windows (lookback, features)               cnn.py
    cnn2d        images (channels, height, width)           cnn.py
    lstm, gru    windows (lookback, features)               recurrent.py
    transformer  windows (lookback, features)               transformer.py
"""

from .cnn import CNN1d as CNN1d
from .cnn import CNN2d as CNN2d
from .mlp import MLP as MLP
from .recurrent import GRU as GRU
from .recurrent import LSTM as LSTM
from .transformer import Transformer as Transformer

__all__ = ["CNN1d", "CNN2d", "GRU", "LSTM", "MLP", "Transformer"]
