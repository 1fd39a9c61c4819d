namespace OpenConnect.Bench.Players;

/// <summary>
/// A simulated playback buffer in real time (seconds since the session began are passed in, so the
/// model is tested without waiting). Playback starts, and resumes after a stall, once
/// <see cref="StartSeconds"/> of media are buffered (or the whole title is); while playing the
/// buffer drains one second per second; when it empties before the title is fully downloaded the
/// player stalls (a rebuffer) until enough is buffered again.
/// </summary>
public sealed class PlaybackBuffer(double startSeconds)
{
    private double _level;
    private double _updatedAt;
    private double _stallStartedAt;
    private bool _playing;
    private bool _complete;

    public double StartSeconds { get; } = startSeconds;

    /// <summary>When playback first started (seconds since the session began), or null.</summary>
    public double? FirstFrameAt { get; private set; }

    public double RebufferSeconds { get; private set; }

    /// <summary>When the first stall began (seconds since the session began), or null.</summary>
    public double? FirstStallAt { get; private set; }

    public int Rebuffers { get; private set; }

    /// <summary>
    /// Stalled seconds up to <paramref name="now"/>: <see cref="RebufferSeconds"/> plus a stall
    /// still under way (a session that ends or fails while stalled).
    /// </summary>
    public double RebufferSecondsAt(double now)
    {
        Advance(now);
        return !_playing && FirstFrameAt is not null && !_complete ? RebufferSeconds + Math.Max(0, now - _stallStartedAt) : RebufferSeconds;
    }

    public bool Playing => _playing;

    /// <summary>Media buffered ahead of the playhead at <paramref name="now"/>.</summary>
    public double Level(double now)
    {
        Advance(now);
        return _level;
    }

    /// <summary>A segment of <paramref name="seconds"/> arrived at <paramref name="now"/>; <paramref name="last"/> when it ends the title.</summary>
    public void Append(double now, double seconds, bool last)
    {
        Advance(now);
        _level += seconds;
        _complete |= last;
        if (!_playing && (_level >= StartSeconds || _complete))
        {
            if (FirstFrameAt is null)
            {
                FirstFrameAt = now;
            }
            else
            {
                RebufferSeconds += now - _stallStartedAt;
                Rebuffers++;
            }

            _playing = true;
        }
    }

    private void Advance(double now)
    {
        if (now <= _updatedAt)
        {
            return;
        }

        if (_playing)
        {
            var elapsed = now - _updatedAt;
            if (elapsed > _level && !_complete)
            {
                _stallStartedAt = _updatedAt + _level;
                FirstStallAt ??= _stallStartedAt;
                _level = 0;
                _playing = false;
            }
            else
            {
                _level = Math.Max(0, _level - elapsed);
            }
        }

        _updatedAt = now;
    }
}
