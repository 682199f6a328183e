"""A faithful local StockX Public API v2, OAuth server and webhook relay, in memory.

`create_app(settings)` builds the ASGI app served by `soleflip serve stockx-sim` (port 8090).
"""

from soleflip.stockx_sim.app import DEFAULT_PORT, create_app
from soleflip.stockx_sim.relay import sign
from soleflip.stockx_sim.settings import SimConfig, sim_config_from_env

__all__ = ["DEFAULT_PORT", "SimConfig", "create_app", "sign", "sim_config_from_env"]
