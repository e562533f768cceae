"""Recurrent networks from first principles: forward and backward passes in NumPy.

Two models share one recurrence ``h_t = g(W [1, x_t] + U h_{t-1})``:

- the classifier (:mod:`.classifier`) reads ``p = sigmoid(v . [1, h_n])`` at the end;
- the tagger (:mod:`.tagger`) reads ``p_t = softmax(V [1, h_t])`` at every step; fed its own
  next character as the target it is a character-level language model (:mod:`.charlm`).

Both are written one vector and one timestep at a time, as teaching material and as an
oracle; :mod:`.vectorized` computes the same numbers on whole batches. The tests compare
every value and gradient with finite differences and with ``torch.nn.RNN`` in float64.
Biases live in the first column of each weight matrix (see :func:`insert_bias`).
"""

from rnnlab.scratch.activations import (
    ACTIVATIONS,
    get_activation,
    relu,
    relu_derivative,
    sigmoid,
    sigmoid_derivative,
    softmax,
    tanh,
    tanh_derivative,
)
from rnnlab.scratch.classifier import (
    get_hidden,
    get_hidden_sequence,
    get_overall_weights_gradients,
    get_prev_delta,
    get_weights_gradients,
    recurrent_classifier_backward,
    recurrent_classifier_forward,
    recurrent_classifier_loss,
    recurrent_linear,
    train_epoch_classifier,
)
from rnnlab.scratch.layers import (
    calculate_weights_gradient,
    crossent_loss_gradient,
    insert_bias,
    linear,
    logistic_layer,
    send_delta_back,
    softmax_layer,
)
from rnnlab.scratch.tagger import (
    get_intermediate_weights_gradients,
    get_output_sequence,
    recurrent_tagger_backward,
    recurrent_tagger_forward,
    recurrent_tagger_loss,
    tagged_sample_loss,
    train_epoch_tagger,
)
from rnnlab.scratch import vectorized
from rnnlab.scratch.charlm import LMConfig, sample_text, train_char_lm
from rnnlab.scratch.compare import ClassifyConfig, classify_vs_torch
from rnnlab.scratch.vectorized import (
    classifier_forward,
    classifier_loss_and_gradients,
    one_hot,
    pad_sequences,
    tagger_forward,
    tagger_loss_and_gradients,
    train_epoch_classifier_vectorized,
    train_epoch_tagger_vectorized,
)

__all__ = [
    # helpers
    "insert_bias",
    "linear",
    "sigmoid",
    "sigmoid_derivative",
    "tanh",
    "tanh_derivative",
    "relu",
    "relu_derivative",
    "softmax",
    "ACTIVATIONS",
    "get_activation",
    "logistic_layer",
    "softmax_layer",
    "crossent_loss_gradient",
    "calculate_weights_gradient",
    "send_delta_back",
    # classifier
    "recurrent_linear",
    "get_hidden",
    "get_hidden_sequence",
    "recurrent_classifier_forward",
    "get_weights_gradients",
    "get_prev_delta",
    "get_overall_weights_gradients",
    "recurrent_classifier_backward",
    "train_epoch_classifier",
    "recurrent_classifier_loss",
    # tagger / language model
    "get_output_sequence",
    "recurrent_tagger_forward",
    "get_intermediate_weights_gradients",
    "recurrent_tagger_backward",
    "train_epoch_tagger",
    "tagged_sample_loss",
    "recurrent_tagger_loss",
    # vectorised
    "vectorized",
    "pad_sequences",
    "one_hot",
    "classifier_forward",
    "classifier_loss_and_gradients",
    "train_epoch_classifier_vectorized",
    "tagger_forward",
    "tagger_loss_and_gradients",
    "train_epoch_tagger_vectorized",
    # the drivers behind `rnnlab scratch classify` and `rnnlab scratch lm`
    "ClassifyConfig",
    "classify_vs_torch",
    "LMConfig",
    "train_char_lm",
    "sample_text",
]
