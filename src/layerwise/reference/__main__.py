"""python -m layerwise.reference FOLDER"""

import sys

from . import main

sys.exit(main())
