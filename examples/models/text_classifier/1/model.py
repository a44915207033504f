"""A python backend model: a linear sentiment classifier over hashed words.

weights.pt is a torch.save archive of a state dict: "weight" (2 x 320, flattened) and
"bias" (2). It is loaded with weights_only=True, which refuses any global outside
PyTorch's allow-list; `tritonguard repo audit` still reports the file at low severity,
because a pickle trusts the file it reads.
"""

import os
import zlib

import numpy as np
import torch
import triton_python_backend_utils as pb_utils

LABELS = ["negative", "positive"]
BUCKETS = 320


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.dirname(os.path.abspath(__file__))
        state = torch.load(os.path.join(here, "weights.pt"), weights_only=True)
        self.weight = state["weight"].view(len(LABELS), BUCKETS)
        self.bias = state["bias"]

    def execute(self, requests):
        responses = []
        for request in requests:
            texts = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy()
            labels = []
            for row in texts:
                features = torch.zeros(BUCKETS)
                for word in row[0].decode("utf-8").lower().split():
                    features[zlib.crc32(word.encode()) % BUCKETS] += 1.0
                logits = self.weight @ features + self.bias
                labels.append([LABELS[int(torch.argmax(logits))].encode("utf-8")])
            out = pb_utils.Tensor("LABEL", np.array(labels, dtype=np.object_))
            responses.append(pb_utils.InferenceResponse(output_tensors=[out]))
        return responses
