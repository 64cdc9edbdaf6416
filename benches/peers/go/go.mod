module bream-peer-go

go 1.19
