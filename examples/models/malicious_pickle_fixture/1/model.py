"""TEST FIXTURE for `tritonguard repo audit`: do not deploy.

A tokenizer loaded with pickle.load runs whatever the pickle imports. tokenizer.pkl was
written with Python's pickle module from an object whose __reduce__ returns
(os.system, ("echo ...",)): loading it runs `echo` in the server. tritonguard reports
GLOBAL posix.system at its byte offset without running anything.
"""

import os
import pickle

import numpy as np
import triton_python_backend_utils as pb_utils


class TritonPythonModel:
    def initialize(self, args):
        here = os.path.dirname(os.path.abspath(__file__))
        with open(os.path.join(here, "tokenizer.pkl"), "rb") as f:
            self.tokenizer = pickle.load(f)  # the unsafe part

    def execute(self, requests):
        responses = []
        for request in requests:
            text = pb_utils.get_input_tensor_by_name(request, "TEXT").as_numpy()[0].decode()
            tokens = np.array([len(word) for word in text.split()], dtype=np.int64)
            responses.append(pb_utils.InferenceResponse(output_tensors=[pb_utils.Tensor("TOKENS", tokens)]))
        return responses
