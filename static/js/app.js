// Small progressive enhancements. The pages work without this file.
"use strict";
