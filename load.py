import sys
from bench.api import measure
if __name__ == "__main__":
    print(measure("http://127.0.0.1:18556", sys.argv[1], "GET", f"/api/simulations/{sys.argv[2]}/metrics", clients=50, processes=2, seconds=6))
