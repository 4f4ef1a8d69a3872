package forecast

import "github.com/telcotraffic/telcotraffic/tasks/internal/forecast/forecastresult"

// TaskResult is the one-line JSON result of the forecast task; the type
// lives in forecastresult, which consumers import without the forecaster.
type TaskResult = forecastresult.TaskResult
