"""The built-in blocks, the bodies a config names with `model.type`; importing this
module registers them.

Each block ends in a plain Linear `head` of width `output_dim` and returns raw
scores (regression values, logits): losses apply sigmoid/softmax themselves, and
so does whoever turns logits into probabilities.

    mlp          rows (features,) or windows, flattened     mlp.py
    tabular      rows: dense features + category codes      tabular.py
    cnn1d        windows (lookback, features)               cnn.py
    cnn2d        images (channels, height, width)           cnn.py
    lstm, gru    windows (lookback, features)               recurrent.py
    transformer  windows (lookback, features)               transformer.py
    text_bag     rows: dense features + token ids (inputs)  text.py
    text_cnn     the same                                   text.py
    text_gru     the same                                   text.py
    text_lstm    the same                                   text.py
    text_transformer  the same                              text.py
    backbone     images: a torchvision classification model's body  backbone.py
"""

from .backbone import Backbone as Backbone
from .cnn import CNN1d as CNN1d
from .cnn import CNN2d as CNN2d
from .mlp import MLP as MLP
from .recurrent import GRU as GRU
from .recurrent import LSTM as LSTM
from .tabular import Tabular as Tabular
from .text import TextBag as TextBag
from .text import TextCNN as TextCNN
from .text import TextGRU as TextGRU
from .text import TextLSTM as TextLSTM
from .text import TextTransformer as TextTransformer
from .transformer import Transformer as Transformer

__all__ = [
    "Backbone",
    "CNN1d",
    "CNN2d",
    "GRU",
    "LSTM",
    "MLP",
    "Tabular",
    "TextBag",
    "TextCNN",
    "TextGRU",
    "TextLSTM",
    "TextTransformer",
    "Transformer",
]
