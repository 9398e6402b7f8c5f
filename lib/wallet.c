/* placeholder: being written */
#include "err.h"
