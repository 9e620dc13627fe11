"""The local sandbox: moto's server mode on 127.0.0.1, behind a thin layer that makes it act
like AWS where moto is lenient (see fidelity.py). Needs the `sandbox` extra (moto[server])."""
