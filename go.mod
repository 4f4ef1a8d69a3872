module github.com/telcotraffic/telcotraffic

go 1.26

require (
	github.com/google/go-cmp v0.7.0 // indirect
	github.com/klauspost/compress v1.18.0 // indirect
	github.com/ulikunitz/xz v0.5.15 // indirect
)
