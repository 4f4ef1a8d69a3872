#!/usr/bin/env bash
# Creates (once) the venv with PyTorch for `make bench-seqnet`, under
# ~/.cache/telcotraffic, apart from the project venv: torch is a bench peer
# only, never a test dependency. It runs on the CPU. PyPI has only the CUDA
# build for Linux x86-64, whose libtorch_cuda.so needs the CUDA runtime
# libraries to load at all, so torch is installed without its dependencies
# and then exactly the libraries it links (cuda-toolkit parts, cuDNN,
# cuSPARSELt, NCCL, NVSHMEM: 4.4 GB in all, about 5 minutes once) and its
# pure-Python dependencies, leaving out triton and cuda-bindings (GPU
# compilation and bindings, never imported on the CPU; pip warns that they
# are missing). Prints the venv's python.
set -euo pipefail
TORCH_VERSION=2.15.0
CACHE="${TELCO_CACHE:-$HOME/.cache/telcotraffic}"
VENV="$CACHE/venv-torch-$TORCH_VERSION"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import torch, numpy' 2>/dev/null; then
  echo "bench-seqnet: creating $VENV (torch $TORCH_VERSION, run on the CPU; ~4.4 GB, ~5 min)" >&2
  rm -rf "$VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --upgrade pip >&2
  "$VENV/bin/pip" install -q --no-deps "torch==$TORCH_VERSION" >&2
  pin() { echo "$1==$(sed -n "s/^$1==//p" .ci/constraints.txt)"; }
  "$VENV/bin/pip" install -q \
    "cuda-toolkit[cublas,cudart,cufft,cufile,cupti,cusolver,cusparse,nvjitlink,nvrtc,nvtx]==13.2.2" \
    nvidia-cudnn-cu13==9.26.0.51 nvidia-cusparselt-cu13==0.8.1 nvidia-nccl-cu13==2.30.7 nvidia-nvshmem-cu13==3.7.2 \
    "setuptools>=77.0.3" filelock typing-extensions sympy networkx jinja2 fsspec "$(pin numpy)" >&2
  "$VENV/bin/python" -c 'import torch, numpy' >&2
fi
echo "$VENV/bin/python"
